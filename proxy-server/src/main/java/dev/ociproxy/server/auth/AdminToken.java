package dev.ociproxy.server.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import org.jspecify.annotations.Nullable;

/**
 * The bearer token the admin actions ({@code POST /admin/warm}, {@code GET /admin/drift}) require
 * when {@code admin.token} or {@code admin.tokenFile} is set. Whoever can call them can make the
 * proxy fetch from its upstreams with its credentials, and the admin listener is often bound to
 * every interface for the kubelet's probes. Compared in constant time; never printed.
 */
public final class AdminToken {
  /** Shortest token accepted: guessing must not be practical. */
  public static final int MIN_LENGTH = 16;

  private static final String BEARER = "Bearer ";

  private final byte[] token;

  /**
   * @throws IllegalArgumentException when shorter than {@link #MIN_LENGTH} or holding whitespace
   */
  public AdminToken(String token) {
    if (token.length() < MIN_LENGTH) {
      throw new IllegalArgumentException(
          "the token has " + token.length() + " characters (expected at least " + MIN_LENGTH + ")");
    }
    if (token.chars().anyMatch(Character::isWhitespace)) {
      throw new IllegalArgumentException(
          "the token holds whitespace (it is sent as 'Bearer <token>')");
    }
    this.token = token.getBytes(StandardCharsets.UTF_8);
  }

  /** Whether an {@code Authorization} header value is {@code Bearer <this token>}. */
  public boolean admits(@Nullable String authorization) {
    if (authorization == null
        || !authorization.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
      return false;
    }
    byte[] given =
        authorization.substring(BEARER.length()).strip().getBytes(StandardCharsets.UTF_8);
    return MessageDigest.isEqual(given, token);
  }

  @Override
  public String toString() {
    return "AdminToken[redacted]";
  }
}
