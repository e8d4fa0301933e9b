package dev.ociproxy.core.airgap;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.Tag;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * What a warm takes along with each image besides its own graph, so that it crosses the gap with
 * the image: the verified referrers of every manifest it warms (all, or of {@code artifactTypes}).
 *
 * @param artifactTypes the referrers' artifact types to take; empty: all of them
 */
public record Attached(boolean referrers, Set<String> artifactTypes) {
  /** Only the image. */
  public static final Attached NONE = new Attached(false, Set.of());

  public Attached {
    artifactTypes = Set.copyOf(artifactTypes);
    if (!referrers && !artifactTypes.isEmpty()) {
      throw new IllegalArgumentException(
          "artifactTypes: " + artifactTypes + " (expected: only with referrers)");
    }
  }

  /** Whether a referrer of {@code artifactType} is taken. */
  boolean wants(@Nullable String artifactType) {
    return artifactTypes.isEmpty() || artifactTypes.contains(artifactType);
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
