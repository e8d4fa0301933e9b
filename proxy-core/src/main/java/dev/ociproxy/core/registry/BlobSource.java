package dev.ociproxy.core.registry;

import dev.ociproxy.core.cache.BlobDownload;
import dev.ociproxy.core.cache.CacheIndex;
import java.nio.file.Path;

/** Where a blob's bytes come from: a verified cache file, or a download in progress. */
public sealed interface BlobSource {
  /** A verified file in the content store, held against eviction until {@code lease} is closed. */
  record Cached(Path path, long size, CacheIndex.Lease lease) implements BlobSource {}

  /** An upstream download that may still fail verification; readers tail it. */
  record Downloading(BlobDownload download) implements BlobSource {}
}
