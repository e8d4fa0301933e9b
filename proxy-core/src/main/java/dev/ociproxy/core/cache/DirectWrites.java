package dev.ociproxy.core.cache;

/** How blobs of 1 MiB and more are written to the cache ({@code cache.directWrites}). */
public enum DirectWrites {
  /** Through the page cache, switching to {@code O_DIRECT} once the page cache falls behind. */
  AUTO,
  /** With {@code O_DIRECT} from the first byte. */
  ALWAYS,
  /** Through the page cache only. */
  NEVER
}
