package dev.ociproxy.core.registry;

import dev.ociproxy.core.cluster.Peers;
import dev.ociproxy.core.concurrent.Futures;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.upstream.UpstreamClient;
import dev.ociproxy.core.upstream.UpstreamResponse;
import io.netty.handler.codec.http.HttpMethod;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where a cold blob's bytes come from: the replica that owns its digest when another one does (so
 * the fleet fetches it from the upstream once), else the upstream. An owner that cannot be reached,
 * is slow to answer or answers anything but 200 is passed over for the upstream: availability
 * first, dedup second. An owner whose body breaks off mid-way is continued from the upstream (see
 * {@link ResumableBody}). Either answer is only a claim; {@link BlobFetcher} verifies both alike.
 */
final class BlobOrigin {
  private static final Logger log = LoggerFactory.getLogger(BlobOrigin.class);

  /** A 200 answer for the blob and whether a peer sent it. */
  record Answer(UpstreamResponse response, boolean fromPeer) {}

  private final UpstreamClient client;
  private final Peers peers;
  private final RegistryMeters meters;

  /** Running downloads a peer feeds: a peer's request never joins one (no loops). */
  private final Set<Digest> peerFed = ConcurrentHashMap.newKeySet();

  BlobOrigin(UpstreamClient client, Peers peers, RegistryMeters meters) {
    this.client = client;
    this.peers = peers;
    this.meters = meters;
  }

  /**
   * The blob's answer; {@code askPeers} is false for a peer's own request, which an owner serves
   * from its upstream (never passing it on, so two views of the membership cannot make a loop).
   */
  CompletableFuture<Answer> get(RepositoryName repo, Digest digest, boolean askPeers) {
    CompletableFuture<UpstreamResponse> peer =
        askPeers ? peers.askOwner(meters.upstream(), repo, digest) : null;
    if (peer == null) {
      return upstream(repo, digest);
    }
    return peer.handle(
            (resp, err) -> {
              if (err == null && resp.status() == 200) {
                meters.blobFetch("peer");
                return CompletableFuture.completedFuture(new Answer(resp, true));
              }
              String why =
                  err != null ? Futures.cause(err).toString() : "answered " + resp.status();
              if (resp != null) {
                resp.discard();
              }
              log.info(
                  "blob {} of {}/{}: the owning replica did not serve it ({}); asking the upstream",
                  digest,
                  meters.upstream(),
                  repo,
                  why);
              meters.peerFallback("headers");
              return upstream(repo, digest);
            })
        .thenCompose(f -> f);
  }

  /**
   * Why a peer may not have {@code digest} from this replica now (our own download of it is fed by
   * a peer: the replicas disagree on the owner for a moment), or null when it may.
   */
  @Nullable RegistryException refusalForPeer(Digest digest) {
    return peerFed.contains(digest)
        ? new RegistryException(
            OciErrorCode.UNAVAILABLE, 503, "not the owner of " + digest + " right now")
        : null;
  }

  /** A download of {@code digest} started from {@code answer}. */
  void started(Answer answer, Digest digest) {
    if (answer.fromPeer()) {
      peerFed.add(digest);
    }
  }

  /** The download of {@code digest} ended (or never started). */
  void ended(Digest digest) {
    peerFed.remove(digest);
  }

  /**
   * The body {@code answer} carries, to stream into a download: a peer's is continued from the
   * upstream if it breaks off.
   */
  ResumableBody body(Answer answer, RepositoryName repo, Digest digest) {
    ResumableBody.Rest rest =
        answer.fromPeer()
            ? offset -> {
              meters.blobFetch("upstream");
              return client.request(
                  HttpMethod.GET,
                  PullThrough.v2(repo, "blobs", digest.toString()),
                  repo.value(),
                  List.of(),
                  "bytes=" + offset + "-");
            }
            : null;
    return new ResumableBody(answer.response(), rest, meters, repo, digest);
  }

  private CompletableFuture<Answer> upstream(RepositoryName repo, Digest digest) {
    meters.blobFetch("upstream");
    return client
        .request(
            HttpMethod.GET,
            PullThrough.v2(repo, "blobs", digest.toString()),
            repo.value(),
            List.of())
        .thenApply(resp -> new Answer(resp, false));
  }
}
