package dev.ociproxy.core.registry;

import dev.ociproxy.core.cache.BlobDownload;
import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.cache.RepositoryLinks;
import dev.ociproxy.core.concurrent.SingleFlight;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.upstream.UpstreamClient;
import dev.ociproxy.core.upstream.UpstreamResponse;
import dev.ociproxy.core.upstream.UpstreamUnavailableException;
import dev.ociproxy.core.verify.VerificationException;
import dev.ociproxy.core.verify.VerificationException.Reason;
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
 * The blob half of a {@link PullThrough}: serves verified blobs from the store, runs one shared
 * upstream download per digest that every reader tails, and asks the upstream (one {@code HEAD})
 * before a blob held for another repository is served under this one. Thread-safe.
 */
final class BlobFetcher {
  private static final Logger log = LoggerFactory.getLogger(BlobFetcher.class);

  private final RegistryMeters meters;
  private final UpstreamClient client;
  private final ContentStore store;
  private final RepositoryLinks links;
  private final FetchLimiter limiter;
  private final MirrorOptions options;

  /** One download per digest; a broken one is never joined. */
  private final SingleFlight<Digest, BlobDownload> downloads;

  /** One HEAD per repository and digest, however many clients ask. */
  private final SingleFlight<String, Long> heads = SingleFlight.create();

  /** The repository each running download was started for; its own clients join without a HEAD. */
  private final ConcurrentMap<Digest, RepositoryName> downloadRepos = new ConcurrentHashMap<>();

  BlobFetcher(
      RegistryMeters meters,
      UpstreamClient client,
      ContentStore store,
      RepositoryLinks links,
      FetchLimiter limiter,
      MirrorOptions options) {
    this.meters = meters;
    this.client = client;
    this.store = store;
    this.links = links;
    this.limiter = limiter;
    this.options = options;
    this.downloads = new SingleFlight<>(d -> !d.failed(), () -> meters.coalesced("blob"));
    meters.inFlight("blob", downloads::size);
  }

  /** A blob from the store, or a (possibly shared) download that readers tail. */
  CompletableFuture<BlobSource> blob(RepositoryName repo, Digest digest) {
    boolean joinable = downloads.running(digest) != null && !repo.equals(downloadRepos.get(digest));
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
    return downloads
        .runUntilEnded(digest, end -> startDownload(repo, digest, end))
        .thenApply(d -> new BlobSource.Downloading(d, store));
  }

  /** Starts the download; {@code end} frees the digest for the next download once this one ends. */
  private CompletableFuture<BlobDownload> startDownload(
      RepositoryName repo, Digest digest, Runnable end) {
    downloadRepos.put(digest, repo);
    try {
      limiter.acquire();
    } catch (RegistryException e) {
      end.run();
      downloadRepos.remove(digest, repo);
      return CompletableFuture.failedFuture(e);
    }
    return client
        .request(
            HttpMethod.GET,
            PullThrough.v2(repo, "blobs", digest.toString()),
            repo.value(),
            List.of())
        .thenApply(resp -> download(repo, digest, resp, end))
        .whenComplete(
            (d, err) -> {
              if (err != null) {
                limiter.release();
                end.run();
                downloadRepos.remove(digest, repo);
              } else {
                d.finished().whenComplete((p, e) -> downloadRepos.remove(digest, repo));
              }
            });
  }

  /** Checks the upstream's answer and streams its body into a new download. */
  private BlobDownload download(
      RepositoryName repo, Digest digest, UpstreamResponse resp, Runnable end) {
    if (resp.status() != 200) {
      resp.drain();
      throw UpstreamErrors.of(resp, OciErrorCode.BLOB_UNKNOWN, "blob " + digest);
    }
    String header = resp.headers().get("Docker-Content-Digest");
    if (header != null
        && header.trim().startsWith(digest.algorithm().id() + ":")
        && !header.trim().equals(digest.toString())) {
      resp.discard();
      throw meters.refuse(
          repo,
          digest.toString(),
          digest,
          Reason.DIGEST_HEADER_MISMATCH,
          "Docker-Content-Digest " + header.trim());
    }
    links.add(repo, digest); // the upstream answered 200 for this repository
    BlobDownload d;
    try {
      d =
          new BlobDownload(
              digest,
              store,
              resp.contentLength(),
              done -> {
                end.run(); // before any client sees the end: a client's next request starts afresh
                limiter.release();
                meters.received("blob", done.written());
              },
              store.writerFor(resp.contentLength()));
    } catch (IOException e) {
      resp.discard();
      throw new UncheckedIOException(e);
    }
    if (!options.finishAbandonedDownloads()) {
      BlobDownload abandoned = d;
      d.onAbandoned(
          () -> {
            resp.discard();
            abandoned.fail(
                new UpstreamUnavailableException(
                    "every client left; download stopped (cache.finishAbandonedDownloads: false)",
                    null));
          });
    }
    d.finished()
        .whenComplete(
            (path, err) -> {
              if (err instanceof VerificationException v) {
                meters.refused(repo, digest.toString(), v.reason(), v.getMessage());
              } else if (err != null) {
                log.warn(
                    "blob download {} from {} failed: {}",
                    digest,
                    meters.upstream(),
                    err.toString());
              }
            });
    resp.stream(d);
    return d;
  }

  /** Size of a blob, from the store, a running download, or an upstream HEAD (never cached). */
  CompletableFuture<Long> blobSize(RepositoryName repo, Digest digest) {
    if (links.has(repo, digest)) {
      long size = store.blobSize(digest);
      if (size >= 0) {
        return CompletableFuture.completedFuture(size);
      }
      CompletableFuture<BlobDownload> running = downloads.running(digest);
      BlobDownload d =
          running == null || running.isCompletedExceptionally() ? null : running.getNow(null);
      if (d != null && !d.failed() && d.knownLength() >= 0) {
        return CompletableFuture.completedFuture(d.knownLength());
      }
    }
    return heads.run(
        repo + "@" + digest,
        () ->
            limiter
                .run(
                    () ->
                        client.request(
                            HttpMethod.HEAD,
                            PullThrough.v2(repo, "blobs", digest.toString()),
                            repo.value(),
                            List.of()))
                .thenApply(
                    resp -> {
                      resp.drain();
                      if (resp.status() != 200) {
                        throw UpstreamErrors.of(resp, OciErrorCode.BLOB_UNKNOWN, "blob " + digest);
                      }
                      links.add(repo, digest);
                      return resp.contentLength();
                    }));
  }

  /** Asks the upstream (HEAD) whether {@code repo} holds {@code digest}; links it if so. */
  private CompletableFuture<Void> confirm(RepositoryName repo, Digest digest) {
    return blobSize(repo, digest).thenApply(size -> null);
  }
}
