package dev.ociproxy.core.registry;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.ManifestDocument;
import java.nio.file.Path;
import org.jspecify.annotations.Nullable;

/**
 * Verified manifests kept parsed in memory, in front of the store, so hot tags and digests cost no
 * disk read. Holds only what the store holds (it is filled from the store, never from an upstream
 * answer), bounded by weight. Thread-safe.
 */
final class HotManifests {
  private static final long HOT_MANIFEST_BYTES = 32L * 1024 * 1024;

  private final ContentStore store;
  private final Cache<Digest, HotManifest> hot =
      Caffeine.newBuilder()
          .maximumWeight(HOT_MANIFEST_BYTES)
          .weigher((Digest d, HotManifest h) -> h.manifest().body().length + 256)
          .executor(Runnable::run) // maintenance inline: no common-pool wake-ups per few requests
          .build();

  HotManifests(ContentStore store) {
    this.store = store;
  }

  /** A verified manifest in memory, with its store path built once rather than per request. */
  private record HotManifest(Manifest manifest, Path path) {}

  /** The verified manifest from memory or the store (stale: marked as served stale), or null. */
  @Nullable Manifest get(Digest d, boolean stale) {
    HotManifest h = hot.getIfPresent(d);
    if (h == null) {
      byte[] body = store.readManifest(d);
      if (body == null) {
        return null;
      }
      h =
          new HotManifest(
              new Manifest(d, ManifestDocument.parse(body, null).mediaType(), body, true, false),
              store.manifestPath(d));
      hot.put(d, h);
    }
    store.index().touch(h.path()); // for the disk budget's LRU order
    Manifest m = h.manifest();
    return stale ? new Manifest(d, m.mediaType(), m.body(), true, true) : m;
  }
}
