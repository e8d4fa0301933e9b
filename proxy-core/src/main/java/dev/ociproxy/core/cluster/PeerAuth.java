package dev.ociproxy.core.cluster;

import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.jspecify.annotations.Nullable;

/**
 * Authenticates requests between replicas: the header {@value #HEADER} carries {@code <unix
 * seconds>.<nonce>.<hex HMAC-SHA256(secret, seconds SP nonce SP receiver SP method SP
 * request-target)>}, the receiver being the advertised {@code host:port} of the replica asked. The
 * secret itself never goes on the wire, the MAC is compared in constant time, and a captured header
 * is good for nothing else: not another request, not another replica (each checks its own {@code
 * advertise}), not after {@link #WINDOW}, and not a second time (the receiver remembers the nonces
 * it accepted, {@link SeenNonces}). Thread-safe.
 */
public final class PeerAuth {
  public static final String HEADER = "X-Registry-Proxy-Peer";

  /** How far a request's time may be from ours: replicas' clocks are NTP-synchronised. */
  static final Duration WINDOW = Duration.ofSeconds(60);

  /** 16 random bytes, base64url without padding. */
  private static final int NONCE_CHARS = 22;

  private static final SecureRandom RANDOM = new SecureRandom();

  private final SecretKeySpec key;
  private final String self;
  private final SeenNonces seen;

  /**
   * @param self this replica's advertised {@code host:port}: only requests signed for it verify
   */
  public PeerAuth(String secret, String self) {
    // A header is on time from WINDOW before its time to WINDOW after: remember it that long.
    this(secret, self, new SeenNonces(WINDOW.multipliedBy(2)));
  }

  PeerAuth(String secret, String self, SeenNonces seen) {
    if (secret.length() < ClusterOptions.MIN_SECRET_LENGTH) {
      throw new IllegalArgumentException(
          "secret: too short (expected: at least " + ClusterOptions.MIN_SECRET_LENGTH + ")");
    }
    this.key = new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256");
    this.self = self;
    this.seen = seen;
  }

  /**
   * The header value for {@code method} of {@code target} (path and query) sent now to the replica
   * advertised as {@code to}; a fresh nonce each time.
   */
  public String sign(String to, String method, String target, long nowSeconds) {
    byte[] random = new byte[16];
    RANDOM.nextBytes(random);
    String nonce = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
    return nowSeconds
        + "."
        + nonce
        + "."
        + HexFormat.of().formatHex(mac(nowSeconds, nonce, to, method, target));
  }

  /**
   * Whether {@code header} authenticates {@code method} of {@code target} sent to this replica at
   * {@code nowSeconds}, for the first time. A header that verifies is used up.
   */
  public boolean verify(String method, String target, @Nullable String header, long nowSeconds) {
    if (header == null) {
      return false;
    }
    int dot = header.indexOf('.');
    int macAt = dot + 1 + NONCE_CHARS + 1;
    if (dot <= 0 || dot > 19 || header.length() != macAt + 64 || header.charAt(macAt - 1) != '.') {
      return false;
    }
    long at;
    byte[] given;
    String nonce = header.substring(dot + 1, macAt - 1);
    try {
      at = Long.parseLong(header.substring(0, dot));
      given = HexFormat.of().parseHex(header, macAt, header.length());
      Base64.getUrlDecoder().decode(nonce);
    } catch (IllegalArgumentException e) {
      return false;
    }
    if (Math.abs(nowSeconds - at) > WINDOW.toSeconds()) {
      return false;
    }
    // The nonce is remembered only once the MAC holds: without the secret nobody fills the memory.
    return MessageDigest.isEqual(given, mac(at, nonce, self, method, target))
        && seen.firstUse(nonce);
  }

  private byte[] mac(long seconds, String nonce, String to, String method, String target) {
    try {
      Mac m = Mac.getInstance("HmacSHA256");
      m.init(key);
      String signed = seconds + " " + nonce + " " + to + " " + method + " " + target;
      return m.doFinal(signed.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException(e); // every JVM has HmacSHA256
    }
  }
}
