package dev.ociproxy.core.registry;

import dev.ociproxy.core.cache.TagIndex;
import dev.ociproxy.core.cluster.ClusterOptions;
import dev.ociproxy.core.cluster.Peers;
import dev.ociproxy.core.concurrent.Futures;
import dev.ociproxy.core.concurrent.SingleFlight;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.upstream.UpstreamResponse;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A stale or unknown tag that another replica owns (rendezvous on upstream, repository and tag) is
 * asked of that owner, so the fleet asks the upstream about a tag once per freshness period, not
 * once per replica. The owner's answer says only which digest to fetch: the manifest comes through
 * the normal verified path by digest (local, shared store, this upstream), is hashed as always and
 * must be of the type the owner named and the client accepts. The mapping is recorded with the
 * owner's verification time, so every replica's copy goes stale when the owner's does. An owner
 * that cannot be reached, is slow ({@link ClusterOptions#PEER_TAG_TIMEOUT}), answers an error or
 * names something unusable is passed over for the upstream: availability first. One question per
 * tag and Accept list at a time, however many clients wait. Thread-safe.
 */
final class PeerTags {
  private static final Logger log = LoggerFactory.getLogger(PeerTags.class);

  private final Peers peers;
  private final RegistryMeters meters;
  private final TagIndex tags;
  private final SingleFlight<String, Manifest> asks;

  PeerTags(Peers peers, RegistryMeters meters, TagIndex tags) {
    this.peers = peers;
    this.meters = meters;
    this.tags = tags;
    this.asks = new SingleFlight<>(m -> true, () -> meters.coalesced("manifest"));
  }

  /** Whether another replica owns {@code tag} now: its owner is asked instead of the upstream. */
  boolean ownedElsewhere(RepositoryName repo, Tag tag) {
    return peers.tagOwner(meters.upstream(), repo, tag) != null;
  }

  /**
   * The manifest {@code tag} names now according to its owner, or null when this replica owns the
   * tag (or runs alone) and must ask the upstream itself.
   *
   * @param known this replica's last verified mapping, and {@code cached} its manifest, if any
   * @param byDigest the normal, verified path of a manifest by digest
   * @param upstream this replica's own revalidation, when the owner is no help
   */
  @Nullable CompletableFuture<Manifest> resolve(
      RepositoryName repo,
      Tag tag,
      List<String> accept,
      TagIndex.@Nullable Entry known,
      @Nullable Manifest cached,
      Function<Digest, CompletableFuture<Manifest>> byDigest,
      Supplier<CompletableFuture<Manifest>> upstream) {
    String owner = peers.tagOwner(meters.upstream(), repo, tag);
    if (owner == null) {
      return null;
    }
    return asks.run(
        "o " + repo + ":" + tag + " " + accept,
        () ->
            viaOwner(owner, repo, tag, accept, known, cached, byDigest)
                .exceptionallyCompose(
                    err -> {
                      log.info(
                          "tag {}:{} of {}: the owning replica {} was no help ({}); asking the"
                              + " upstream",
                          repo,
                          tag,
                          meters.upstream(),
                          owner,
                          Futures.cause(err).toString());
                      meters.tagPeerFallback();
                      return upstream.get();
                    }));
  }

  private CompletableFuture<Manifest> viaOwner(
      String owner,
      RepositoryName repo,
      Tag tag,
      List<String> accept,
      TagIndex.@Nullable Entry known,
      @Nullable Manifest cached,
      Function<Digest, CompletableFuture<Manifest>> byDigest) {
    return peers
        .askTag(owner, meters.upstream(), repo, tag, accept)
        .thenCompose(PeerTags::body)
        // Late bytes are still read (and released) by aggregate; only the wait is cut short.
        .orTimeout(ClusterOptions.PEER_TAG_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
        .thenApply(PeerTags::decode)
        .thenCompose(
            answer -> {
              // A clock ahead of ours must not keep the mapping fresh for longer than a period.
              long at = Math.min(answer.verifiedAtMillis(), System.currentTimeMillis());
              if (known != null && cached != null && known.digest().equals(answer.digest())) {
                tags.put(
                    repo,
                    tag,
                    new TagIndex.Entry(
                        known.digest(), known.mediaType(), at, known.askedForIndex()));
                meters.tagRevalidation("peer");
                return CompletableFuture.completedFuture(cached);
              }
              return byDigest
                  .apply(answer.digest())
                  .thenApply(m -> adopt(repo, tag, accept, answer, at, m));
            });
  }

  private static CompletableFuture<byte[]> body(UpstreamResponse resp) {
    if (resp.status() != 200) {
      resp.drain();
      return CompletableFuture.failedFuture(new IllegalStateException("answered " + resp.status()));
    }
    return resp.aggregate(PeerTag.MAX_BYTES);
  }

  private static PeerTag decode(byte[] body) {
    try {
      return PeerTag.decode(body);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The verified manifest the owner named, recorded as the tag's mapping if it is what it said. */
  private Manifest adopt(
      RepositoryName repo, Tag tag, List<String> accept, PeerTag answer, long at, Manifest m) {
    if (!m.mediaType().equals(answer.mediaType())
        || !(accept.isEmpty() || accept.contains(m.mediaType()) || accept.contains("*/*"))) {
      throw new IllegalStateException(
          "named "
              + answer.digest()
              + " as "
              + answer.mediaType()
              + ", which is a "
              + m.mediaType()
              + " (accepted: "
              + accept
              + ")");
    }
    tags.put(
        repo,
        tag,
        new TagIndex.Entry(m.digest(), m.mediaType(), at, ManifestPull.asksForIndex(accept)));
    meters.tagRevalidation("peer");
    return m;
  }
}
