package dev.ociproxy.core.policy;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.Tag;
import org.jspecify.annotations.Nullable;

/**
 * Where cosign keeps the signatures of a manifest, for what carries them along with an image (warm,
 * export): the classic {@code sha256-<hex>.sig} tag, and referrers whose artifact type is a
 * sigstore bundle. The same places {@link SignedOnly} reads them from.
 */
public final class SignatureArtifacts {
  private SignatureArtifacts() {}

  /**
   * The classic signature tag of {@code digest}; null when it cannot be a tag (sha512: too long).
   */
  public static @Nullable Tag classicTag(Digest digest) {
    String tag = SimpleSigning.tagFor(digest);
    return Tag.isValid(tag) ? new Tag(tag) : null;
  }

  /** True for a referrer that is a sigstore bundle (cosign's bundle format). */
  public static boolean isBundle(@Nullable String artifactType) {
    return artifactType != null && Dsse.isBundle(artifactType);
  }
}
