package dev.ociproxy.core.policy;

import dev.ociproxy.core.oci.Descriptor;
import dev.ociproxy.core.oci.ManifestDocument;
import java.util.List;

/**
 * Which manifests are artifacts (signatures, attestations, SBOMs) rather than images: the policy
 * lets them through unsigned, since they are what clients verify with. A property of the manifest
 * alone, read from its layers' media types, so it lives apart from {@link SignedOnly}, which judges
 * signatures.
 */
final class Artifacts {
  private Artifacts() {}

  /**
   * True for a manifest whose layers are all of non-filesystem types (signatures, attestations,
   * SBOMs): no runtime can run it, and clients that verify for themselves must be able to read it.
   * An index, or an image without layers, is never one.
   */
  static boolean isArtifact(ManifestDocument doc) {
    if (doc.isIndex()) {
      return false;
    }
    List<Descriptor> blobs = doc.blobs();
    List<Descriptor> layers = blobs.size() <= 1 ? List.of() : blobs.subList(1, blobs.size());
    return !layers.isEmpty() && layers.stream().noneMatch(Artifacts::isFilesystemLayer);
  }

  private static boolean isFilesystemLayer(Descriptor d) {
    String t = d.mediaType();
    return t.startsWith("application/vnd.oci.image.layer.")
        || t.startsWith("application/vnd.docker.image.rootfs.")
        || t.equals("application/octet-stream"); // a descriptor without a type: assume the worst
  }
}
