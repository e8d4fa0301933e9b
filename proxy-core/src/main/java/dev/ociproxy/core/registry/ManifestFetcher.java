package dev.ociproxy.core.registry;

import dev.ociproxy.core.cache.RepositoryLinks;
import dev.ociproxy.core.cache.TagIndex;
import dev.ociproxy.core.cluster.Peers;
import dev.ociproxy.core.concurrent.Futures;
import dev.ociproxy.core.concurrent.SingleFlight;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.MediaTypes;
import dev.ociproxy.core.oci.Reference;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.upstream.UpstreamClient;
import dev.ociproxy.core.upstream.UpstreamTimeoutException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The manifest half of a {@link PullThrough}: decides where a manifest comes from. A digest this
 * upstream served, or a fresh tag, comes from memory or the store ({@link HotManifests}); the rest
 * from one upstream fetch per key, shared by concurrent requests, under the fetch limit and the
 * manifest timeout ({@link ManifestPull}, which verifies); a stale tag is revalidated with a HEAD,
 * and served from its last verified manifest when the upstream is in trouble. In a fleet a stale or
 * unknown tag another replica owns is asked of that owner first ({@link PeerTags}); the owner
 * answers peers with {@link #forPeer}, never asking a third replica. Thread-safe.
 */
final class ManifestFetcher {
  private static final Logger log = LoggerFactory.getLogger(ManifestFetcher.class);

  private final RegistryMeters meters;
  private final UpstreamClient client;
  private final TagIndex tags;
  private final RepositoryLinks links;
  private final FetchLimiter limiter;
  private final MirrorOptions options;
  private final Freshness freshness;
  private final SingleFlight<String, Manifest> fetches;
  private final HotManifests hot;
  private final ManifestPull pull;
  private final SharedReads shared;
  private final PeerTags owners;

  /**
   * @param hot the verified manifests in memory and the store
   * @param pull the upstream fetch, which verifies and records what it fetched
   * @param shared what other replicas verified, read (and verified) on a local miss
   * @param peers the other replicas, asked about stale tags they own
   */
  ManifestFetcher(
      RegistryMeters meters,
      UpstreamClient client,
      TagIndex tags,
      RepositoryLinks links,
      FetchLimiter limiter,
      MirrorOptions options,
      HotManifests hot,
      ManifestPull pull,
      SharedReads shared,
      Peers peers) {
    this.shared = shared;
    this.owners = new PeerTags(peers, meters, tags);
    this.meters = meters;
    this.client = client;
    this.tags = tags;
    this.links = links;
    this.limiter = limiter;
    this.options = options;
    this.freshness = new Freshness(options.freshness(), options.tagTtl());
    this.fetches = new SingleFlight<>(m -> true, () -> meters.coalesced("manifest"));
    meters.inFlight("manifest", fetches::size);
    this.hot = hot;
    this.pull = pull;
  }

  /** The digest the upstream's tag points at now, from the body; nothing is stored. */
  CompletableFuture<Digest> upstreamDigest(RepositoryName repo, Tag tag, List<String> accept) {
    return pull.upstreamDigest(repo, tag, accept);
  }

  /** The verified manifest from memory or the store (stale: marked as served stale), or null. */
  @Nullable Manifest cachedManifest(Digest d, boolean stale) {
    return hot.get(d, stale);
  }

  /** Resolves a manifest by tag or digest. */
  CompletableFuture<Manifest> manifest(RepositoryName repo, Reference ref, List<String> accept) {
    if (ref instanceof Digest d) {
      // Listed in one of this upstream's indexes is a hint; its bytes must have come from it too.
      Manifest cached = links.has(repo, d) && links.served(d) ? cachedManifest(d, false) : null;
      if (cached != null) {
        return CompletableFuture.completedFuture(cached);
      }
      // Another replica may have verified it (completes at once without a shared store).
      return shared
          .manifest(repo, d)
          .thenCompose(
              m ->
                  m != null
                      ? CompletableFuture.completedFuture(m)
                      : singleFlight("d " + repo + "@" + d, () -> pull.byDigest(repo, d)));
    }
    Tag tag = (Tag) ref;
    TagIndex.Entry known = tags.get(repo, tag);
    if (known == null) { // another replica's record, once its manifest verifies here
      return shared.tag(repo, tag).thenCompose(e -> byTag(repo, tag, accept, e));
    }
    return byTag(repo, tag, accept, known);
  }

  private CompletableFuture<Manifest> byTag(
      RepositoryName repo, Tag tag, List<String> accept, TagIndex.@Nullable Entry known) {
    Manifest cached = verifiedFor(known, accept);
    if (known != null && cached != null && isFresh(tag, known)) {
      return CompletableFuture.completedFuture(cached);
    }
    Supplier<CompletableFuture<Manifest>> upstream =
        () -> fromUpstream(repo, tag, accept, known, cached);
    CompletableFuture<Manifest> viaOwner =
        owners.resolve(
            repo, tag, accept, known, cached, d -> manifest(repo, d, List.of()), upstream);
    return (viaOwner != null ? viaOwner : upstream.get())
        .exceptionallyCompose(err -> staleOr(err, repo, tag, known));
  }

  /**
   * What {@code tag} names now, for another replica that holds this one for its owner: from a fresh
   * mapping, else from one revalidation with the upstream shared with this replica's own clients.
   * Never asks a peer (no chains while members disagree) and never answers stale: a failure fails,
   * and the asking replica then asks the upstream itself.
   */
  CompletableFuture<PeerTag> forPeer(RepositoryName repo, Tag tag, List<String> accept) {
    TagIndex.Entry local = tags.get(repo, tag);
    CompletableFuture<TagIndex.@Nullable Entry> record =
        local != null ? CompletableFuture.completedFuture(local) : shared.tag(repo, tag);
    return record.thenCompose(
        known -> {
          Manifest cached = verifiedFor(known, accept);
          CompletableFuture<Manifest> m =
              known != null && cached != null && isFresh(tag, known)
                  ? CompletableFuture.completedFuture(cached)
                  : fromUpstream(repo, tag, accept, known, cached);
          return m.thenApply(
              manifest -> {
                TagIndex.Entry now = tags.get(repo, tag);
                long at =
                    now != null && now.digest().equals(manifest.digest())
                        ? now.verifiedAtMillis()
                        : System.currentTimeMillis();
                return new PeerTag(manifest.digest(), manifest.mediaType(), at);
              });
        });
  }

  /** Whether a stale tag is asked of another replica (its owner) before the upstream. */
  boolean ownedElsewhere(RepositoryName repo, Tag tag) {
    return owners.ownedElsewhere(repo, tag);
  }

  /** One revalidation (or fetch) of the tag with the upstream at a time, whoever asks. */
  private CompletableFuture<Manifest> fromUpstream(
      RepositoryName repo,
      Tag tag,
      List<String> accept,
      TagIndex.@Nullable Entry known,
      @Nullable Manifest cached) {
    return singleFlight(
        "t " + repo + ":" + tag + " " + accept,
        () -> {
          meters.tagRevalidation("upstream");
          return known != null && cached != null
              ? revalidate(repo, tag, accept, known, cached)
              : pull.byTag(repo, tag, accept);
        });
  }

  /**
   * The verified manifest of a known tag mapping if it suits the client's Accept list, else null.
   */
  @Nullable Manifest verifiedFor(TagIndex.@Nullable Entry known, List<String> accept) {
    return known != null && suits(known, accept) ? cachedManifest(known.digest(), false) : null;
  }

  boolean isFresh(Tag tag, TagIndex.Entry known) {
    return freshness.isFresh(tag, known.verifiedAtMillis());
  }

  /** A stale tag whose digest the upstream still names is fresh again; else it is fetched. */
  private CompletableFuture<Manifest> revalidate(
      RepositoryName repo, Tag tag, List<String> accept, TagIndex.Entry known, Manifest cached) {
    return TagHead.ask(client, tags, repo, tag, ask(accept))
        .thenCompose(
            claim -> {
              if (!known.digest().equals(claim.digest())) {
                return pull.byTag(repo, tag, accept);
              }
              tags.put(repo, tag, TagHead.refreshed(known));
              return CompletableFuture.completedFuture(cached);
            });
  }

  /**
   * The last verified manifest of the tag when {@code err} is upstream trouble, else {@code err}.
   */
  CompletableFuture<Manifest> staleOr(
      Throwable err, RepositoryName repo, Tag tag, TagIndex.@Nullable Entry known) {
    Throwable cause = Futures.cause(err);
    if (known != null && UpstreamErrors.isUpstreamTrouble(cause)) {
      Manifest stale = cachedManifest(known.digest(), true);
      if (stale != null) {
        log.warn(
            "upstream {} failed ({}); serving last verified {}:{} -> {}",
            meters.upstream(),
            cause.getMessage(),
            repo,
            tag,
            known.digest());
        meters.staleServed();
        return CompletableFuture.completedFuture(stale);
      }
    }
    return CompletableFuture.failedFuture(cause);
  }

  static List<String> ask(List<String> accept) {
    return accept.isEmpty() ? MediaTypes.ALL_MANIFESTS : accept;
  }

  private static boolean suits(TagIndex.Entry e, List<String> accept) {
    if (accept.isEmpty()) {
      return true;
    }
    boolean clientTakesIndex = false;
    for (String type : accept) { // per request: a loop, not a stream
      clientTakesIndex |= MediaTypes.isIndex(type);
    }
    return acceptable(e.mediaType(), accept)
        && (!clientTakesIndex || e.askedForIndex() || MediaTypes.isIndex(e.mediaType()));
  }

  private static boolean acceptable(String mediaType, List<String> accept) {
    return accept.isEmpty() || accept.contains(mediaType) || accept.contains("*/*");
  }

  /** One fetch per key at a time, under the fetch limit and the manifest timeout. */
  private CompletableFuture<Manifest> singleFlight(
      String key, Supplier<CompletableFuture<Manifest>> fetch) {
    return fetches.run(
        key,
        () ->
            limiter
                .run(fetch)
                .orTimeout(options.manifestTimeout().toMillis(), TimeUnit.MILLISECONDS)
                .exceptionallyCompose(
                    err ->
                        CompletableFuture.failedFuture(
                            Futures.cause(err) instanceof TimeoutException
                                ? new UpstreamTimeoutException(
                                    "upstream manifest fetch took longer than "
                                        + options.manifestTimeout())
                                : err)));
  }
}
