package dev.ociproxy.core.oci;

import static java.util.Objects.requireNonNull;

import java.security.MessageDigest;
import java.util.HexFormat;

/** A content digest such as {@code sha256:…}; only algorithms we can verify are accepted. */
public record Digest(Algorithm algorithm, String hex) implements Reference {
  public Digest {
    requireNonNull(algorithm, "algorithm");
    requireNonNull(hex, "hex");
    if (!algorithm.isValidHex(hex)) {
      throw new IllegalArgumentException(
          "hex: " + hex + " (expected: " + algorithm.hexLength() + " lowercase hex chars)");
    }
  }

  /**
   * Parses {@code alg:hex}. A well-formed digest with an algorithm we cannot verify is {@code
   * DIGEST_INVALID} too (the spec has no better code); the message says which it was.
   */
  public static Digest parse(String s) {
    requireNonNull(s, "s");
    int colon = s.indexOf(':');
    if (colon <= 0 || colon == s.length() - 1 || s.length() > 200) {
      throw new RegistryException(OciErrorCode.DIGEST_INVALID, "invalid digest: " + s);
    }
    String alg = s.substring(0, colon);
    String hex = s.substring(colon + 1);
    Algorithm algorithm = Algorithm.byId(alg);
    if (algorithm == null) {
      if (alg.matches("[a-z0-9]+([+._-][a-z0-9]+)*") && hex.matches("[a-zA-Z0-9=_-]+")) {
        throw new RegistryException(
            OciErrorCode.DIGEST_INVALID, 400, "unsupported digest algorithm: " + alg);
      }
      throw new RegistryException(OciErrorCode.DIGEST_INVALID, "invalid digest: " + s);
    }
    if (!algorithm.isValidHex(hex)) {
      throw new RegistryException(
          OciErrorCode.DIGEST_INVALID,
          "invalid digest: " + s + " (expected " + algorithm.hexLength() + " lowercase hex chars)");
    }
    return new Digest(algorithm, hex);
  }

  /** True when {@code s} looks like a digest rather than a tag (tags cannot contain ':'). */
  public static boolean looksLikeDigest(String s) {
    return s.indexOf(':') >= 0;
  }

  public static Digest of(Algorithm algorithm, byte[] content) {
    MessageDigest md = algorithm.newMessageDigest();
    return new Digest(algorithm, HexFormat.of().formatHex(md.digest(content)));
  }

  public static Digest sha256(byte[] content) {
    return of(Algorithm.SHA256, content);
  }

  /** Finishes {@code md} (which must be of {@code algorithm}) into a digest. */
  public static Digest finish(Algorithm algorithm, MessageDigest md) {
    return new Digest(algorithm, HexFormat.of().formatHex(md.digest()));
  }

  @Override
  public String toString() {
    return algorithm.id() + ":" + hex;
  }
}
