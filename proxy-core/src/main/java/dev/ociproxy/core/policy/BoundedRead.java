package dev.ociproxy.core.policy;

import dev.ociproxy.core.cache.CacheIndex;
import dev.ociproxy.core.concurrent.Futures;
import dev.ociproxy.core.oci.Descriptor;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.registry.BlobSource;
import dev.ociproxy.core.registry.Registry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;

/**
 * Reads a small blob (a signature payload or bundle) through a {@link Registry}, so its bytes are
 * the verified ones (hashed against the digest, cached like any blob), with a bound on its size:
 * the descriptor's size is checked before the fetch and the stored size before the read.
 */
final class BoundedRead {
  private BoundedRead() {}

  static CompletableFuture<byte[]> read(
      Registry source, RepositoryName repo, Descriptor d, int maxBytes) {
    if (d.size() > maxBytes) {
      return CompletableFuture.failedFuture(tooLarge(d, d.size(), maxBytes));
    }
    return source
        .blob(repo, d.digest())
        .thenCompose(
            src -> {
              if (src instanceof BlobSource.Cached c) {
                return CompletableFuture.completedFuture(readLeased(c, d, maxBytes));
              }
              BlobSource.Downloading dl = (BlobSource.Downloading) src;
              return dl.download()
                  .finished()
                  .thenApply(
                      p -> {
                        BlobSource.Cached c = dl.published();
                        if (c == null) {
                          throw new RegistryException(
                              OciErrorCode.BLOB_UNKNOWN, 503, d.digest() + " was evicted at once");
                        }
                        return readLeased(c, d, maxBytes);
                      });
            })
        .exceptionallyCompose(e -> CompletableFuture.failedFuture(Futures.cause(e)));
  }

  /** A verified file of at most {@code maxBytes}: small, so one read on the calling thread. */
  private static byte[] readLeased(BlobSource.Cached c, Descriptor d, int maxBytes) {
    try (CacheIndex.Lease lease = c.lease();
        FileChannel ch = FileChannel.open(c.path(), StandardOpenOption.READ)) {
      if (c.size() > maxBytes) {
        throw tooLarge(d, c.size(), maxBytes);
      }
      ByteBuffer buf = ByteBuffer.allocate((int) c.size());
      while (buf.hasRemaining() && ch.read(buf) >= 0) {
        // read until full or the end
      }
      if (buf.hasRemaining()) {
        throw new IOException(c.path() + " is shorter than " + c.size() + " bytes");
      }
      return buf.array();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static RegistryException tooLarge(Descriptor d, long size, int maxBytes) {
    return new RegistryException(
        OciErrorCode.SIZE_INVALID,
        502,
        d.digest() + " has " + size + " bytes, more than a signature may (" + maxBytes + ")");
  }
}
