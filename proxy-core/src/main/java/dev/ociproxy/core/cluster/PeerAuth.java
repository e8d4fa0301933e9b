package dev.ociproxy.core.cluster;

import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.jspecify.annotations.Nullable;

/**
 * Authenticates requests between replicas: the header {@value #HEADER} carries {@code <unix
 * seconds>.<hex HMAC-SHA256(secret, seconds SP method SP request-target)>}. The secret itself never
 * goes on the wire, a captured header is good only for the same request within {@link #WINDOW}, and
 * the MAC is compared in constant time. Thread-safe.
 */
public final class PeerAuth {
  public static final String HEADER = "X-Registry-Proxy-Peer";

  /** How far a request's time may be from ours: replicas' clocks are NTP-synchronised. */
  static final Duration WINDOW = Duration.ofSeconds(60);

  private final SecretKeySpec key;

  public PeerAuth(String secret) {
    if (secret.length() < ClusterOptions.MIN_SECRET_LENGTH) {
      throw new IllegalArgumentException(
          "secret: too short (expected: at least " + ClusterOptions.MIN_SECRET_LENGTH + ")");
    }
    this.key = new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256");
  }

  /** The header value for {@code method} of {@code target} (path and query) sent now. */
  public String sign(String method, String target, long nowSeconds) {
    return nowSeconds + "." + HexFormat.of().formatHex(mac(nowSeconds, method, target));
  }

  /**
   * Whether {@code header} authenticates {@code method} of {@code target} at {@code nowSeconds}.
   */
  public boolean verify(String method, String target, @Nullable String header, long nowSeconds) {
    if (header == null) {
      return false;
    }
    int dot = header.indexOf('.');
    if (dot <= 0 || dot > 19 || header.length() - dot - 1 != 64) {
      return false;
    }
    long at;
    byte[] given;
    try {
      at = Long.parseLong(header.substring(0, dot));
      given = HexFormat.of().parseHex(header, dot + 1, header.length());
    } catch (IllegalArgumentException e) {
      return false;
    }
    if (Math.abs(nowSeconds - at) > WINDOW.toSeconds()) {
      return false;
    }
    return MessageDigest.isEqual(given, mac(at, method, target));
  }

  private byte[] mac(long seconds, String method, String target) {
    try {
      Mac m = Mac.getInstance("HmacSHA256");
      m.init(key);
      return m.doFinal((seconds + " " + method + " " + target).getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException(e); // every JVM has HmacSHA256
    }
  }
}
