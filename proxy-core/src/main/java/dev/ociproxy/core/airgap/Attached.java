package dev.ociproxy.core.airgap;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.policy.SignatureArtifacts;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * What a warm takes along with each image besides its own graph, so that it crosses the gap with
 * the image: the verified referrers of every manifest it warms (all, or of {@code artifactTypes}),
 * and its cosign signatures (the classic {@code sha256-<hex>.sig} tag and the bundle referrers), so
 * that a site enforcing a signature policy can serve it.
 *
 * @param artifactTypes the referrers' artifact types to take; empty: all of them
 */
public record Attached(boolean referrers, Set<String> artifactTypes, boolean signatures) {
  /** Only the image. */
  public static final Attached NONE = new Attached(false, Set.of(), false);

  public Attached {
    artifactTypes = Set.copyOf(artifactTypes);
    if (!referrers && !artifactTypes.isEmpty()) {
      throw new IllegalArgumentException(
          "artifactTypes: " + artifactTypes + " (expected: only with referrers)");
    }
  }

  /** Whether any referrer may be taken (so the referrers of each manifest are asked for). */
  boolean anyReferrers() {
    return referrers || signatures;
  }

  /** Whether a referrer of {@code artifactType} is taken. */
  boolean wants(@Nullable String artifactType) {
    return (referrers && (artifactTypes.isEmpty() || artifactTypes.contains(artifactType)))
        || (signatures && SignatureArtifacts.isBundle(artifactType));
  }

  /** The referrers tag schema's tag for the referrers of {@code subject}: {@code sha256-<hex>}. */
  static Tag referrersTag(Digest subject) {
    return new Tag(tagPart(subject));
  }

  /** {@code <alg>-<hex>}, the hex cut to 64 characters as the tag schema says (tags are short). */
  private static String tagPart(Digest d) {
    return d.algorithm().id() + "-" + d.hex().substring(0, Math.min(64, d.hex().length()));
  }
}
