package dev.ociproxy.core.oci;

import static java.util.Objects.requireNonNull;

import org.jspecify.annotations.Nullable;

/** A content descriptor: what a manifest says about one blob or child manifest. */
public record Descriptor(String mediaType, Digest digest, long size, @Nullable Platform platform) {
  public Descriptor {
    requireNonNull(mediaType, "mediaType");
    requireNonNull(digest, "digest");
    if (size < 0) {
      throw new IllegalArgumentException("size: " + size + " (expected: >= 0)");
    }
  }

  /**
   * True for layers that registries need not hold (Windows base layers, "non-distributable"): a
   * pull fetches them from elsewhere, so warm, export and import pass them by.
   */
  public boolean isForeign() {
    return mediaType.contains("nondistributable") || mediaType.contains("foreign");
  }

  /** The {@code platform} of an index entry; null fields are absent. */
  public record Platform(
      @Nullable String os, @Nullable String architecture, @Nullable String variant) {
    @Override
    public String toString() {
      return os + "/" + architecture + (variant == null ? "" : "/" + variant);
    }
  }
}
