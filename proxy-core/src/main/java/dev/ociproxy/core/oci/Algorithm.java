package dev.ociproxy.core.oci;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import org.jspecify.annotations.Nullable;

/** A digest algorithm this proxy can verify; anything else is refused at the edge. */
public enum Algorithm {
  SHA256("sha256", "SHA-256", 64),
  SHA512("sha512", "SHA-512", 128);

  private final String id;
  private final String jcaName;
  private final int hexLength;

  Algorithm(String id, String jcaName, int hexLength) {
    this.id = id;
    this.jcaName = jcaName;
    this.hexLength = hexLength;
  }

  /** The name used in digest strings, e.g. {@code sha256}. */
  public String id() {
    return id;
  }

  public int hexLength() {
    return hexLength;
  }

  boolean isValidHex(String hex) {
    if (hex.length() != hexLength) {
      return false;
    }
    for (int i = 0; i < hexLength; i++) {
      char c = hex.charAt(i);
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
        return false;
      }
    }
    return true;
  }

  /**
   * A fresh hasher; {@link MessageDigest} instances are not thread-safe, so each stream gets its
   * own.
   */
  public MessageDigest newMessageDigest() {
    try {
      return MessageDigest.getInstance(jcaName);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("JDK lacks " + jcaName, e);
    }
  }

  /** Returns the algorithm named {@code id}, or null when we do not support it. */
  static @Nullable Algorithm byId(String id) {
    for (Algorithm a : values()) {
      if (a.id.equals(id)) {
        return a;
      }
    }
    return null;
  }
}
