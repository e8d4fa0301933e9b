package dev.ociproxy.core.policy;

import static java.util.Objects.requireNonNull;

import dev.ociproxy.core.oci.Digest;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * One signature as found, before any key has vouched for it: the exact bytes that were signed, the
 * signature over them, and what those bytes claim. The claim means nothing until {@link
 * TrustedKey#verifies} accepts the signature.
 *
 * @param where where it was found, for refusals ({@code sha256-….sig layer 0}, a bundle's digest)
 * @param claim what the signed bytes say, or null when they are not a document of the format
 * @param problem why {@code claim} is null, or null
 */
// Bytes compared by no one: a SignatureEnvelope is verified, never used as a key.
@SuppressWarnings("ArrayRecordComponent")
public record SignatureEnvelope(
    String where,
    byte[] signed,
    byte[] signature,
    @Nullable Claim claim,
    @Nullable String problem) {
  public SignatureEnvelope {
    requireNonNull(where, "where");
    requireNonNull(signed, "signed");
    requireNonNull(signature, "signature");
  }

  /**
   * What a signed document says: the manifest digests it covers and the image name it was made for.
   *
   * @param identity the signed {@code docker-reference} (or in-toto subject name); null when none
   */
  public record Claim(List<Digest> digests, @Nullable String identity) {
    public Claim {
      digests = List.copyOf(digests);
    }
  }
}
