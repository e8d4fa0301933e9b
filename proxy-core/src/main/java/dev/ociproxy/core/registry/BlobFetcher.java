package dev.ociproxy.core.registry;

import dev.ociproxy.core.cache.BlobDownload;
import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.cache.RepositoryLinks;
import dev.ociproxy.core.cluster.Peers;
import dev.ociproxy.core.concurrent.SingleFlight;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.upstream.UpstreamClient;
import dev.ociproxy.core.upstream.UpstreamResponse;
import dev.ociproxy.core.upstream.UpstreamUnavailableException;
import dev.ociproxy.core.verify.DigestHeader;
import dev.ociproxy.core.verify.KnownSize;
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
 * The blob half of a {@link PullThrough}: serves verified blobs from the store, runs one shared
 * upstream download per digest that every reader tails, and asks the upstream (one {@code HEAD})
 * before a blob held for another repository is served under this one. The store's copy is served
 * only if this upstream has itself served those bytes (see {@link RepositoryLinks}); otherwise they
 * are fetched from it and verified like any cold blob. Thread-safe.
 *
 * <p>A {@code HEAD} never contradicts what the proxy verified: a size in the store wins over the
 * upstream's claim, a {@code Docker-Content-Digest} naming another digest is refused, and a digest
 * this upstream's content was refused for in the last {@link #REFUSAL_MEMORY} is answered with that
 * refusal without asking again. A {@code HEAD} for a blob the proxy does not hold answers the
 * upstream's claimed size unverified rather than downloading the blob to check it: a HEAD may be
 * for gigabytes, and the {@code GET} that follows is verified.
 */
final class BlobFetcher {
  private static final Logger log = LoggerFactory.getLogger(BlobFetcher.class);

  private final RegistryMeters meters;
  private final BlobOrigin origin;
  private final UpstreamClient client;
  private final ContentStore store;
  private final RepositoryLinks links;
  private final FetchLimiter limiter;
  private final MirrorOptions options;
  private final SharedReads shared;

  /** One download per digest; a broken one is never joined. */
  private final SingleFlight<Digest, BlobDownload> downloads;

  /** One HEAD per repository and digest, however many clients ask. */
  private final SingleFlight<String, Long> heads = SingleFlight.create();

  /** The repository each running download was started for; its own clients join without a HEAD. */
  private final ConcurrentMap<Digest, RepositoryName> downloadRepos = new ConcurrentHashMap<>();

  private final RecentRefusals refused = new RecentRefusals();

  BlobFetcher(
      RegistryMeters meters,
      UpstreamClient client,
      ContentStore store,
      RepositoryLinks links,
      FetchLimiter limiter,
      MirrorOptions options,
      SharedReads shared,
      Peers peers) {
    this.shared = shared;
    this.meters = meters;
    this.client = client;
    this.origin = new BlobOrigin(client, peers, meters);
    this.store = store;
    this.links = links;
    this.limiter = limiter;
    this.options = options;
    this.downloads = new SingleFlight<>(d -> !d.failed(), () -> meters.coalesced("blob"));
    meters.inFlight("blob", downloads::size);
  }

  /**
   * A blob from the local tier, or a (possibly shared) download that readers tail: from the shared
   * store when another replica verified it for this upstream, else from the upstream.
   */
  CompletableFuture<BlobSource> blob(RepositoryName repo, Digest digest) {
    return blob(repo, digest, true);
  }

  /**
   * A blob for another replica that holds this one for its owner: from the local tier, the shared
   * store or this replica's own upstream download, never from a third replica.
   */
  CompletableFuture<BlobSource> blobForPeer(RepositoryName repo, Digest digest) {
    RegistryException notOwner = origin.refusalForPeer(digest);
    return notOwner != null ? CompletableFuture.failedFuture(notOwner) : blob(repo, digest, false);
  }

  private CompletableFuture<BlobSource> blob(RepositoryName repo, Digest digest, boolean askPeers) {
    if (!shared.on() || store.blobSize(digest) >= 0 || downloads.running(digest) != null) {
      return localOrUpstream(repo, digest, askPeers);
    }
    return shared
        .blobSize(repo, digest)
        .thenCompose(
            size ->
                size < 0
                    ? localOrUpstream(repo, digest, askPeers)
                    : downloads
                        .runUntilEnded(digest, end -> fromStore(repo, digest, size, end))
                        .thenApply(d -> new BlobSource.Downloading(d, store)));
  }

  private CompletableFuture<BlobDownload> fromStore(
      RepositoryName repo, Digest digest, long size, Runnable end) {
    try {
      return CompletableFuture.completedFuture(shared.blob(repo, digest, size, end));
    } catch (IOException | RuntimeException e) {
      end.run();
      return CompletableFuture.failedFuture(e);
    }
  }

  private CompletableFuture<BlobSource> localOrUpstream(
      RepositoryName repo, Digest digest, boolean askPeers) {
    // Bytes only another upstream served are fetched from this one, never lent from the store.
    // A cold blob is not in the store, and then its records on disk need not be read.
    boolean ours =
        links.remembersServed(digest) || (store.blobSize(digest) >= 0 && links.served(digest));
    boolean joinable = downloads.running(digest) != null && !repo.equals(downloadRepos.get(digest));
    // Cheapest first: memory, then the link records, then the store's stat.
    if ((joinable || ours)
        && !links.has(repo, digest)
        && (joinable || store.blobSize(digest) >= 0)) {
      // Held for another repository of this upstream: serve it here only once the upstream
      // confirms. Asked again after the HEAD: the download we would have joined may have been
      // published meanwhile, and then its file is ours (ManyClientsIT saw the second GET).
      return confirm(repo, digest)
          .thenCompose(v -> linkedBlob(repo, digest, links.served(digest), askPeers));
    }
    return linkedBlob(repo, digest, ours, askPeers);
  }

  private CompletableFuture<BlobSource> linkedBlob(
      RepositoryName repo, Digest digest, boolean ours, boolean askPeers) {
    BlobSource.Cached cached = ours ? BlobSource.Cached.lease(store, digest) : null;
    if (cached != null) {
      meters.blobBytes("local", cached.size());
      store.mirror().used(digest); // at most daily, for the shared store's retention
      return CompletableFuture.completedFuture(cached);
    }
    return downloads
        .runUntilEnded(digest, end -> startDownload(repo, digest, end, askPeers))
        .thenApply(d -> new BlobSource.Downloading(d, store));
  }

  /** Starts the download; {@code end} frees the digest for the next download once this one ends. */
  private CompletableFuture<BlobDownload> startDownload(
      RepositoryName repo, Digest digest, Runnable end, boolean askPeers) {
    downloadRepos.put(digest, repo);
    try {
      limiter.acquire();
    } catch (RegistryException e) {
      end.run();
      downloadRepos.remove(digest, repo);
      return CompletableFuture.failedFuture(e);
    }
    return origin
        .get(repo, digest, askPeers)
        .thenApply(answer -> download(repo, digest, answer, end))
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

  /**
   * Checks the answer and streams its body into a new download. A peer's lie is refused like the
   * upstream's but not remembered against the upstream, which did not tell it.
   */
  private BlobDownload download(
      RepositoryName repo, Digest digest, BlobOrigin.Answer answer, Runnable end) {
    UpstreamResponse resp = answer.response();
    boolean fromPeer = answer.fromPeer();
    if (resp.status() != 200) {
      resp.drain();
      throw UpstreamErrors.of(resp, OciErrorCode.BLOB_UNKNOWN, "blob " + digest);
    }
    try {
      DigestHeader.checkBlob(
          digest, resp.headers().get(DigestHeader.NAME), fromPeer ? "peer " : "");
    } catch (VerificationException v) {
      resp.discard();
      VerificationException refused = meters.refused(repo, digest.toString(), v);
      throw fromPeer ? refused : this.refused.remember(digest, refused);
    }
    origin.started(answer, digest);
    ResumableBody body = origin.body(answer, repo, digest);
    BlobDownload d;
    try {
      d =
          new BlobDownload(
              digest,
              store,
              resp.contentLength(),
              done -> {
                origin.ended(digest);
                end.run(); // before any client sees the end: a client's next request starts afresh
                limiter.release();
                body.count(done.written(), done.published());
                if (done.published()) {
                  // Verified: this upstream served these bytes, from this repository.
                  links.addServed(digest);
                  links.add(repo, digest);
                  refused.forget(digest);
                  if (!fromPeer || body.resumedAt() >= 0) {
                    // For the other replicas; a peer's owner does it, unless it broke off.
                    store.mirror().blob(digest);
                  }
                }
              },
              store.writerFor(resp.contentLength()));
    } catch (IOException e) {
      origin.ended(digest);
      resp.discard();
      throw new UncheckedIOException(e);
    }
    if (!options.finishAbandonedDownloads()) {
      BlobDownload abandoned = d;
      d.onAbandoned(
          () -> {
            body.discard();
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
                meters.refused(
                    repo,
                    digest.toString(),
                    v.reason(),
                    (fromPeer ? via(body, "peer", ", then upstream from byte ") + ": " : "")
                        + v.getMessage());
                if (!fromPeer) {
                  refused.remember(digest, v);
                }
              } else if (err != null) {
                log.warn(
                    "blob download {} from {}{} failed: {}",
                    digest,
                    meters.upstream(),
                    fromPeer
                        ? via(body, " via its owning replica", ", then the upstream from byte ")
                        : "",
                    err.toString());
              }
            });
    body.stream(d);
    return d;
  }

  /** Where a peer-fed download's bytes came from, for its log lines. */
  private static String via(ResumableBody body, String peer, String resumed) {
    long at = body.resumedAt();
    return at < 0 ? peer : peer + resumed + at;
  }

  /** Size of a blob, from the store, a running download, or an upstream HEAD (never cached). */
  CompletableFuture<Long> blobSize(RepositoryName repo, Digest digest) {
    VerificationException lately = refused.recent(digest);
    if (lately != null) {
      meters.refusalRemembered();
      return CompletableFuture.failedFuture(lately);
    }
    if (links.has(repo, digest) && links.served(digest)) {
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
    if (shared.on() && store.blobSize(digest) < 0) {
      // Another replica's copy this upstream served from this repository: its stored size, a claim
      // like the upstream's (the GET that follows is verified), and no upstream HEAD.
      return shared
          .blobSize(repo, digest)
          .thenCompose(
              size ->
                  size >= 0 ? CompletableFuture.completedFuture(size) : upstreamSize(repo, digest));
    }
    return upstreamSize(repo, digest);
  }

  private CompletableFuture<Long> upstreamSize(RepositoryName repo, Digest digest) {
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
                      try {
                        DigestHeader.checkBlob(
                            digest, resp.headers().get(DigestHeader.NAME), "HEAD answered with ");
                      } catch (VerificationException v) {
                        throw refused.remember(digest, meters.refused(repo, digest.toString(), v));
                      }
                      links.add(repo, digest); // a hint: see RepositoryLinks
                      return KnownSize.forHead(store.blobSize(digest), resp.contentLength());
                    }));
  }

  /** Asks the upstream (HEAD) whether {@code repo} holds {@code digest}; links it if so. */
  private CompletableFuture<Void> confirm(RepositoryName repo, Digest digest) {
    return blobSize(repo, digest).thenApply(size -> null);
  }
}
