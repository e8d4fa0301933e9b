package dev.ociproxy.core.registry;

import dev.ociproxy.core.cache.BlobDownload;
import dev.ociproxy.core.cache.CacheIndex;
import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.oci.Digest;
import java.net.URI;
import java.nio.file.Path;
import org.jspecify.annotations.Nullable;

/**
 * Where a blob's bytes come from: a verified cache file, a download in progress, or (for a client's
 * whole GET only) the shared store itself.
 */
public sealed interface BlobSource {
  /** A verified file in the content store, held against eviction until {@code lease} is closed. */
  record Cached(Path path, long size, CacheIndex.Lease lease) implements BlobSource {
    /**
     * The verified blob {@code digest} from {@code store}, leased against eviction; null when not
     * cached.
     */
    public static @Nullable Cached lease(ContentStore store, Digest digest) {
      long size = store.blobSize(digest);
      if (size < 0) {
        return null;
      }
      Path path = store.blobPath(digest);
      CacheIndex.Lease lease = store.index().use(path);
      return lease == null ? null : new Cached(path, size, lease);
    }
  }

  /** An upstream download that may still fail verification; readers tail it. */
  record Downloading(BlobDownload download, ContentStore store) implements BlobSource {
    /** The blob as published once the download has finished; null when evicted since. */
    public @Nullable Cached published() {
      return Cached.lease(store, download.digest());
    }
  }

  /**
   * The blob is committed, verified, in the shared store: the client is sent to {@code location}, a
   * presigned GET of it that expires soon ({@code storage.s3.redirect}). Only {@link
   * Registry#blobOrRedirect} answers it, after every rule a blob answer passes.
   */
  record Redirect(URI location) implements BlobSource {}
}
