package dev.ociproxy.core.verify;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.verify.VerificationException.Reason;
import org.jspecify.annotations.Nullable;

/**
 * Holds an upstream's {@code Docker-Content-Digest} header to what was asked for and to the bytes
 * that came with it. The header is only a claim: it can refuse a response, never vouch for one.
 */
public final class DigestHeader {
  /** The header's name, as registries send it. */
  public static final String NAME = "Docker-Content-Digest";

  private DigestHeader() {}

  /**
   * Refuses a blob response whose header names another digest of the requested algorithm. A header
   * of another algorithm says nothing we can compare without the bytes, and the bytes are hashed
   * with the requested algorithm anyway, so it passes.
   *
   * @param answer how the refusal names the answer, e.g. {@code "HEAD answered with "}
   * @throws VerificationException {@code DIGEST_HEADER_MISMATCH}
   */
  public static void checkBlob(Digest requested, @Nullable String header, String answer) {
    if (header != null
        && header.trim().startsWith(requested.algorithm().id() + ":")
        && !header.trim().equals(requested.toString())) {
      throw new VerificationException(
          Reason.DIGEST_HEADER_MISMATCH, requested, answer + NAME + " " + header.trim());
    }
  }

  /**
   * The digest a tag's manifest is claimed to have, checked against its body; null when the
   * upstream sent no header.
   *
   * @throws VerificationException {@code DIGEST_HEADER_MISMATCH} when the header is no digest or
   *     the body hashes to another one with the header's algorithm
   */
  static @Nullable Digest checkTagManifest(@Nullable String header, byte[] body) {
    if (header == null) {
      return null;
    }
    Digest claimed;
    try {
      claimed = Digest.parse(header.trim());
    } catch (RegistryException e) {
      throw new VerificationException(
          Reason.DIGEST_HEADER_MISMATCH, null, "unusable " + NAME + " " + header);
    }
    Digest actual = Digest.of(claimed.algorithm(), body);
    if (!actual.equals(claimed)) {
      throw new VerificationException(
          Reason.DIGEST_HEADER_MISMATCH,
          null,
          NAME + " " + claimed + " but body hashes to " + actual);
    }
    return claimed;
  }
}
