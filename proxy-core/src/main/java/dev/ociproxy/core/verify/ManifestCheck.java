package dev.ociproxy.core.verify;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.ManifestDocument;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.verify.VerificationException.Reason;
import org.jspecify.annotations.Nullable;

/**
 * Decides whether a manifest an upstream sent is what was asked for: by digest its bytes hash to
 * that digest; by tag they hash to whatever digest the upstream's {@code Docker-Content-Digest}
 * names; either way the body is one self-consistent manifest whose media type agrees with the
 * {@code Content-Type} ({@link ManifestDocument}), of at most the configured size, and of exactly
 * the size a descriptor listed it with. Every check throws a {@link VerificationException} naming
 * the reason and what arrived; the caller reports it (one log line, one metric) and stores nothing.
 * Stateless.
 */
public final class ManifestCheck {
  /**
   * A manifest that passed: {@code digest} is the requested one, or the body's sha256 for a tag;
   * {@code claimed} is the header's digest when the upstream sent one (by tag, it may be of another
   * algorithm than {@code digest}).
   */
  public record Passed(Digest digest, @Nullable Digest claimed, ManifestDocument document) {}

  private ManifestCheck() {}

  /**
   * Checks a manifest fetched by digest.
   *
   * @throws VerificationException {@code DIGEST_MISMATCH} when the body hashes to another digest,
   *     {@code MEDIA_TYPE_MISMATCH} when it is no manifest of the type the upstream declared
   */
  public static Passed byDigest(
      Digest requested, byte[] body, @Nullable String digestHeader, @Nullable String contentType) {
    Digest actual = Digest.of(requested.algorithm(), body);
    if (!actual.equals(requested)) {
      throw new VerificationException(
          Reason.DIGEST_MISMATCH,
          requested,
          "got "
              + actual
              + " ("
              + body.length
              + " bytes, "
              + DigestHeader.NAME
              + ": "
              + digestHeader
              + "), want "
              + requested);
    }
    return new Passed(requested, null, document(requested, body, contentType));
  }

  /**
   * Checks a manifest fetched by tag; nothing was requested but what the upstream's header claims.
   *
   * @throws VerificationException {@code DIGEST_HEADER_MISMATCH} when the header is unusable or the
   *     body hashes to another digest, {@code MEDIA_TYPE_MISMATCH} as {@link #byDigest}
   */
  public static Passed byTag(
      byte[] body, @Nullable String digestHeader, @Nullable String contentType) {
    Digest claimed = DigestHeader.checkTagManifest(digestHeader, body);
    return new Passed(Digest.sha256(body), claimed, document(null, body, contentType));
  }

  /** The refusal of a body longer than the manifest limit ({@code TOO_LARGE}). */
  public static VerificationException tooLarge(@Nullable String detail) {
    return new VerificationException(Reason.TOO_LARGE, null, detail);
  }

  /**
   * Refuses a manifest whose length is not the size a descriptor listed it with (a referrer in a
   * referrers list, a child in an index).
   *
   * @param listed how the refusal names the descriptor, e.g. {@code "listed referrer sha256:…"}
   * @throws VerificationException {@code SIZE_MISMATCH}
   */
  public static void listedSize(@Nullable Digest requested, String listed, long size, byte[] body) {
    if (body.length != size) {
      throw new VerificationException(
          Reason.SIZE_MISMATCH,
          requested,
          listed + " claimed " + size + " bytes, has " + body.length);
    }
  }

  private static ManifestDocument document(
      @Nullable Digest requested, byte[] body, @Nullable String contentType) {
    try {
      return ManifestDocument.parse(body, contentType);
    } catch (RegistryException e) {
      throw new VerificationException(
          Reason.MEDIA_TYPE_MISMATCH,
          requested,
          e.getMessage() + " (Content-Type: " + contentType + ")");
    }
  }
}
