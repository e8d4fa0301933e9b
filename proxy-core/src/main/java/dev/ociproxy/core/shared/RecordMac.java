package dev.ociproxy.core.shared;

import dev.ociproxy.core.cluster.ClusterOptions;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.jspecify.annotations.Nullable;

/**
 * Authenticates a metadata record of the bucket (link marker, served mark, tag record): the stored
 * object is {@code rpmac1 <hex HMAC-SHA256>\n<body>}, the MAC taken over the record's key and its
 * body, so a record changed, or a valid one copied to another key (another upstream's served mark,
 * another tag), does not verify. Content needs none: it is hashed against its digest.
 *
 * <p>The MAC key is HMAC-SHA256(secret, {@value #CONTEXT}): distinct from the cluster's peer key
 * even when both come from {@code cluster.secret}, and changed with the version should the format
 * change. Thread-safe.
 */
public final class RecordMac {
  static final String CONTEXT = "registry-proxy bucket metadata v1";
  private static final byte[] MAGIC = "rpmac1 ".getBytes(StandardCharsets.US_ASCII);
  private static final int HEX = 64;

  /** Bytes a sealed record adds to its body. */
  static final int OVERHEAD = MAGIC.length + HEX + 1;

  private final SecretKeySpec key;

  /**
   * @param secret {@code storage.s3.secret}, or {@code cluster.secret}; at least {@link
   *     ClusterOptions#MIN_SECRET_LENGTH} characters
   */
  public RecordMac(String secret) {
    if (secret.length() < ClusterOptions.MIN_SECRET_LENGTH) {
      throw new IllegalArgumentException(
          "secret: "
              + secret.length()
              + " characters (expected: at least "
              + ClusterOptions.MIN_SECRET_LENGTH
              + ")");
    }
    byte[] derived =
        hmac(
            new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"),
            CONTEXT.getBytes(StandardCharsets.UTF_8));
    this.key = new SecretKeySpec(derived, "HmacSHA256");
  }

  /** The object to store under {@code key} for {@code body}. */
  byte[] seal(String key, byte[] body) {
    byte[] mac = HexFormat.of().formatHex(mac(key, body)).getBytes(StandardCharsets.US_ASCII);
    return ByteBuffer.allocate(OVERHEAD + body.length)
        .put(MAGIC)
        .put(mac)
        .put((byte) '\n')
        .put(body)
        .array();
  }

  /**
   * The body of {@code stored}, read from {@code key}, or null when its MAC is missing or wrong.
   */
  byte @Nullable [] open(String key, byte[] stored) {
    if (!sealed(stored)) {
      return null;
    }
    byte[] given;
    try {
      given =
          HexFormat.of().parseHex(new String(stored, MAGIC.length, HEX, StandardCharsets.US_ASCII));
    } catch (IllegalArgumentException e) {
      return null;
    }
    byte[] body = Arrays.copyOfRange(stored, OVERHEAD, stored.length);
    return MessageDigest.isEqual(given, mac(key, body)) ? body : null;
  }

  /** Why {@link #open} refused {@code stored}, for the log line. */
  static String whyRefused(byte[] stored) {
    return sealed(stored)
        ? "its MAC does not match its key and body (changed, copied from another key, or sealed"
            + " with another secret)"
        : "it carries no MAC (written by a version before records were authenticated, or by"
            + " someone without the secret)";
  }

  private static boolean sealed(byte[] stored) {
    return stored.length >= OVERHEAD
        && Arrays.equals(stored, 0, MAGIC.length, MAGIC, 0, MAGIC.length)
        && stored[OVERHEAD - 1] == '\n';
  }

  /** HMAC over the key's length, the key and the body: no two (key, body) pairs share an input. */
  private byte[] mac(String recordKey, byte[] body) {
    byte[] k = recordKey.getBytes(StandardCharsets.UTF_8);
    return hmac(
        key,
        ByteBuffer.allocate(4 + k.length + body.length).putInt(k.length).put(k).put(body).array());
  }

  private static byte[] hmac(SecretKeySpec key, byte[] input) {
    try {
      Mac m = Mac.getInstance("HmacSHA256");
      m.init(key);
      return m.doFinal(input);
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException(e); // every JVM has HmacSHA256
    }
  }

  @Override
  public String toString() { // never the key
    return "RecordMac[HMAC-SHA256]";
  }
}
