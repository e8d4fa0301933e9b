package dev.ociproxy.core.registry;

import dev.ociproxy.core.cache.BlobDownload;
import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.cache.RepositoryLinks;
import dev.ociproxy.core.cache.TagIndex;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.ManifestDocument;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.shared.SharedStore;
import dev.ociproxy.core.verify.VerificationException;
import java.io.IOException;
import java.net.URI;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * What one upstream's pull-through finds in the shared store ({@code storage.s3}) on a local miss:
 * what another replica verified for this upstream, verified again here before it is served whole
 * and only then kept in the local tier, with the local links and served marks the bucket had (so
 * one upstream still never borrows what another served). Every answer is "not there" when no store
 * is configured, when the store fails, or when its copy does not verify: the caller then asks the
 * upstream as before. Thread-safe.
 */
final class SharedReads {
  private final @Nullable SharedStore shared;
  private final ContentStore store;
  private final RepositoryLinks links;
  private final TagIndex tags;
  private final RegistryMeters meters;

  SharedReads(
      @Nullable SharedStore shared,
      ContentStore store,
      RepositoryLinks links,
      TagIndex tags,
      RegistryMeters meters) {
    this.shared = shared;
    this.store = store;
    this.links = links;
    this.tags = tags;
    this.meters = meters;
  }

  /** Whether a store is configured at all; without one, nothing here is asked. */
  boolean on() {
    return shared != null;
  }

  /**
   * A client's redirect to the stored blob ({@code storage.s3.redirect}) when this upstream may
   * hand out {@code d} under {@code repo} from the copy verified here (the rule of {@link
   * RepositoryLinks}: listed in the repository, served by this upstream itself) and the store is
   * known to hold it verified; else null, and the blob is served as without redirects.
   */
  BlobSource.@Nullable Redirect redirect(RepositoryName repo, Digest d) {
    SharedStore s = shared;
    if (s == null || !links.has(repo, d) || !links.served(d)) {
      return null;
    }
    URI location = s.redirects().location(d);
    if (location == null) {
      return null;
    }
    store.mirror().used(d); // handed out: for the shared store's retention, at most daily
    return new BlobSource.Redirect(location);
  }

  /** The stored size of a blob this upstream served from {@code repo}, else -1. */
  CompletableFuture<Long> blobSize(RepositoryName repo, Digest d) {
    SharedStore s = shared;
    return s == null
        ? CompletableFuture.completedFuture(-1L)
        : s.blobFor(meters.upstream(), repo, d);
  }

  /**
   * A download of the stored blob, verified as it streams like an upstream's; published in the
   * local tier, and linked here, only if it verifies.
   *
   * @param end frees the digest for the next download (before any client sees the end)
   */
  BlobDownload blob(RepositoryName repo, Digest d, long size, Runnable end) throws IOException {
    SharedStore s = java.util.Objects.requireNonNull(shared, "shared");
    BlobDownload download =
        new BlobDownload(
            d,
            store,
            size,
            done -> {
              end.run();
              if (done.published()) {
                links.addServed(d); // as the bucket said: this upstream served it, from repo
                links.add(repo, d);
                meters.blobBytes("store", done.written());
                store.mirror().used(d);
              }
            },
            store.writerFor(size));
    download
        .finished()
        .whenComplete(
            (path, err) -> {
              if (err instanceof VerificationException v) {
                s.refusedBlob(d, v);
              }
            });
    s.readBlob(download);
    return download;
  }

  /**
   * The stored manifest {@code d} of {@code repo}, hashed to {@code d} and kept locally; or null.
   */
  CompletableFuture<@Nullable Manifest> manifest(RepositoryName repo, Digest d) {
    SharedStore s = shared;
    if (s == null) {
      return CompletableFuture.completedFuture(null);
    }
    return s.manifestFor(meters.upstream(), repo, d)
        .thenApply(body -> body == null ? null : adopt(repo, d, body));
  }

  private @Nullable Manifest adopt(RepositoryName repo, Digest d, byte[] verified) {
    ManifestDocument doc;
    try {
      doc = ManifestDocument.parse(verified, null);
    } catch (RuntimeException e) {
      return null; // hashed right but no manifest we take: the upstream is asked instead
    }
    store.putManifest(d, verified);
    links.addServed(d);
    ManifestPull.linkManifest(links, repo, d, doc);
    return new Manifest(d, doc.mediaType(), verified, true, false);
  }

  /**
   * The tag record another replica verified, once the manifest it names is verified and kept
   * locally; recorded in the local index with its own verification time (so its freshness is the
   * fleet's, not this replica's) and the media type of the verified manifest, not the record's.
   * Null when there is none or its manifest does not verify.
   */
  CompletableFuture<TagIndex.@Nullable Entry> tag(RepositoryName repo, Tag tag) {
    SharedStore s = shared;
    if (s == null) {
      return CompletableFuture.completedFuture(null);
    }
    return s.tagFor(meters.upstream(), repo, tag)
        .thenCompose(
            e ->
                e == null
                    ? CompletableFuture.completedFuture(null)
                    : manifest(repo, e.digest())
                        .thenApply(
                            m -> {
                              if (m == null) {
                                return null;
                              }
                              TagIndex.Entry verified =
                                  new TagIndex.Entry(
                                      e.digest(),
                                      m.mediaType(),
                                      e.verifiedAtMillis(),
                                      e.askedForIndex());
                              tags.put(repo, tag, verified);
                              return verified;
                            }));
  }
}
