package dev.ociproxy.core.registry;

import dev.ociproxy.core.cache.BlobDownload;
import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.cache.RepositoryLinks;
import dev.ociproxy.core.concurrent.Futures;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.upstream.UpstreamClient;
import dev.ociproxy.core.verify.VerificationException.Reason;
import dev.ociproxy.core.verify.VerificationException;
import io.netty.handler.codec.http.HttpMethod;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The blob half of a {@link PullThrough}: serves verified blobs from the store, runs one shared upstream
 * download per digest that every reader tails, and asks the upstream (one {@code HEAD}) before a
 * blob held for another repository is served under this one. Thread-safe.
 */
final class BlobFetcher {
  private static final Logger log = LoggerFactory.getLogger(BlobFetcher.class);

  private final RegistryMeters meters;
  private final UpstreamClient client;
  private final ContentStore store;
  private final RepositoryLinks links;
  private final FetchLimiter limiter;
  private final MirrorOptions options;
  private final ConcurrentMap<Digest, CompletableFuture<BlobDownload>> downloads =
      new ConcurrentHashMap<>();
  private final ConcurrentMap<String, CompletableFuture<Long>> heads = new ConcurrentHashMap<>();
  /** The repository each running download was started for; its own clients join without a HEAD. */
  private final ConcurrentMap<Digest, RepositoryName> downloadRepos = new ConcurrentHashMap<>();

  BlobFetcher(RegistryMeters meters, UpstreamClient client, ContentStore store, RepositoryLinks links,
      FetchLimiter limiter, MirrorOptions options) {
    this.meters = meters;
    this.client = client;
    this.store = store;
    this.links = links;
    this.limiter = limiter;
    this.options = options;
    meters.inFlight("blob", downloads::size);
  }

  /** A blob from the store, or a (possibly shared) download that readers tail. */
  CompletableFuture<BlobSource> blob(RepositoryName repo, Digest digest) {
    boolean joinable = downloads.containsKey(digest) && !repo.equals(downloadRepos.get(digest));
    if (!links.has(repo, digest) && (joinable || store.blobSize(digest) >= 0)) {
      // Held for another repository or upstream: serve it here only once the upstream confirms.
      return confirm(repo, digest).thenCompose(v -> linkedBlob(repo, digest));
    }
    return linkedBlob(repo, digest);
  }

  private CompletableFuture<BlobSource> linkedBlob(RepositoryName repo, Digest digest) {
    BlobSource.Cached cached = BlobSource.Cached.lease(store, digest);
    if (cached != null) {
      return CompletableFuture.completedFuture(cached);
    }
    while (true) {
      CompletableFuture<BlobDownload> mine = new CompletableFuture<>();
      CompletableFuture<BlobDownload> existing = downloads.putIfAbsent(digest, mine);
      if (existing == null) {
        downloadRepos.put(digest, repo);
        mine.whenComplete((d, err) -> {
          if (err != null) {
            downloadRepos.remove(digest, repo);
          } else {
            d.finished().whenComplete((p, e) -> downloadRepos.remove(digest, repo));
          }
        });
        startDownload(repo, digest, mine);
        return mine.thenApply(d -> new BlobSource.Downloading(d, store));
      }
      BlobDownload d = existing.getNow(null);
      if (d != null && d.failed()) {
        downloads.remove(digest, existing); // a broken fetch is never joined: start afresh
        continue;
      }
      meters.coalesced("blob");
      return existing.thenApply(running -> new BlobSource.Downloading(running, store));
    }
  }

  private void startDownload(
      RepositoryName repo, Digest digest, CompletableFuture<BlobDownload> slot) {
    try {
      limiter.acquire();
    } catch (RegistryException e) {
      downloads.remove(digest, slot);
      slot.completeExceptionally(e);
      return;
    }
    client
        .request(HttpMethod.GET, PullThrough.v2(repo, "blobs", digest.toString()), repo.value(), List.of())
        .thenApply(
            resp -> {
              if (resp.status() != 200) {
                resp.drain();
                throw UpstreamErrors.of(resp, OciErrorCode.BLOB_UNKNOWN, "blob " + digest);
              }
              String header = resp.headers().get("Docker-Content-Digest");
              if (header != null && header.trim().startsWith(digest.algorithm().id() + ":")
                  && !header.trim().equals(digest.toString())) {
                resp.discard();
                throw meters.refuse(repo, digest.toString(), digest, Reason.DIGEST_HEADER_MISMATCH,
                    "Docker-Content-Digest " + header.trim());
              }
              links.add(repo, digest); // the upstream answered 200 for this repository
              BlobDownload d;
              try {
                d = new BlobDownload(digest, store, resp.contentLength(), done -> {
                  // Before any client sees the end: a client's next request finds the slot free.
                  downloads.remove(digest, slot);
                  limiter.release();
                  meters.received("blob", done.written());
                }, store.writerFor(resp.contentLength()));
              } catch (IOException e) {
                resp.discard();
                throw new UncheckedIOException(e);
              }
              if (!options.finishAbandonedDownloads()) {
                BlobDownload abandoned = d;
                d.onAbandoned(() -> {
                  resp.discard();
                  abandoned.fail(new dev.ociproxy.core.upstream.UpstreamUnavailableException(
                      "every client left; download stopped (cache.finishAbandonedDownloads: false)", null));
                });
              }
              d.finished().whenComplete((path, err) -> {
                if (err instanceof VerificationException v) {
                  meters.refused(repo, digest.toString(), v.reason(), v.getMessage());
                } else if (err != null) {
                  log.warn("blob download {} from {} failed: {}", digest, meters.upstream(), err.toString());
                }
              });
              resp.stream(d);
              return d;
            })
        .whenComplete(
            (d, err) -> {
              if (err != null) {
                limiter.release();
                downloads.remove(digest, slot);
                slot.completeExceptionally(Futures.cause(err));
              } else {
                slot.complete(d);
              }
            });
  }

  /** Size of a blob, from the store, a running download, or an upstream HEAD (never cached). */
  CompletableFuture<Long> blobSize(RepositoryName repo, Digest digest) {
    if (links.has(repo, digest)) {
      long size = store.blobSize(digest);
      if (size >= 0) {
        return CompletableFuture.completedFuture(size);
      }
      CompletableFuture<BlobDownload> running = downloads.get(digest);
      BlobDownload d = running == null ? null : running.getNow(null);
      if (d != null && !d.failed() && d.knownLength() >= 0) {
        return CompletableFuture.completedFuture(d.knownLength());
      }
    }
    String key = repo + "@" + digest;
    CompletableFuture<Long> mine = new CompletableFuture<>();
    CompletableFuture<Long> existing = heads.putIfAbsent(key, mine);
    if (existing != null) {
      return existing; // one HEAD per repository and digest, however many clients ask
    }
    limiter.run(() -> client
        .request(HttpMethod.HEAD, PullThrough.v2(repo, "blobs", digest.toString()), repo.value(), List.of()))
        .thenApply(
            resp -> {
              resp.drain();
              if (resp.status() != 200) {
                throw UpstreamErrors.of(resp, OciErrorCode.BLOB_UNKNOWN, "blob " + digest);
              }
              links.add(repo, digest);
              return resp.contentLength();
            })
        .whenComplete((size, err) -> {
          heads.remove(key, mine);
          if (err != null) {
            mine.completeExceptionally(Futures.cause(err));
          } else {
            mine.complete(size);
          }
        });
    return mine;
  }

  /** Asks the upstream (HEAD) whether {@code repo} holds {@code digest}; links it if so. */
  private CompletableFuture<Void> confirm(RepositoryName repo, Digest digest) {
    return blobSize(repo, digest).thenApply(size -> null);
  }
}
