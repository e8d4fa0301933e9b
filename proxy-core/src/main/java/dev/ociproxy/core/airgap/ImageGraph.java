package dev.ociproxy.core.airgap;

import dev.ociproxy.core.oci.Descriptor;
import java.util.Set;

/**
 * The rules every walk of an image's graph (index, its manifests, their config and layers) applies
 * alike, whether it fetches (warm), reads the store (export, pin closure) or reads an archive
 * (import): how deep indexes may nest, and which children of the top index a platform list keeps.
 * Foreign layers are {@link Descriptor#isForeign()}.
 */
final class ImageGraph {
  /** Nested indexes deeper than this are refused: a loop would otherwise never end. */
  static final int MAX_INDEX_DEPTH = 3;

  private ImageGraph() {}

  /**
   * Whether the index entry {@code child} at {@code depth} is wanted for {@code platforms}: the
   * filter picks among the top index's entries (empty: all); below that everything is kept.
   */
  static boolean wanted(Descriptor child, int depth, Set<Platform> platforms) {
    return depth > 0
        || platforms.isEmpty()
        || platforms.stream().anyMatch(p -> p.matches(child.platform()));
  }
}
