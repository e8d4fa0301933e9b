package dev.ociproxy.core.registry;

import static java.util.Objects.requireNonNull;

import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.cache.RepositoryLinks;
import dev.ociproxy.core.cache.TagIndex;
import dev.ociproxy.core.cluster.Peers;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.Reference;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.shared.SharedStore;
import dev.ociproxy.core.upstream.UpstreamClient;
import dev.ociproxy.core.verify.Refusals;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.handler.codec.http.HttpMethod;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * The pull-through cache of one upstream registry: serves verified content from the store, fetches
 * and verifies what is missing, and shares one upstream fetch between concurrent requests for the
 * same thing. Digests are answered local-first, tags remote-first with the last verified mapping as
 * the fallback (as distribution's proxy does). What the client asked for is the truth; the
 * upstream's headers are only claims.
 *
 * <p>This class owns the shared parts (store, tag index, links); {@link ManifestFetcher} and {@link
 * BlobFetcher} do the two halves of the work and report through one {@link RegistryMeters}. The
 * {@code cached…} methods read only what is held, never the upstream, for the air-gap's offline
 * view. Built by {@code wiring.Upstreams}.
 */
public final class PullThrough implements Registry {
  private static final long MAX_TAG_LIST_BYTES = 4L * 1024 * 1024;

  private final UpstreamClient client;
  private final ContentStore store;
  private final TagIndex tags;
  private final RepositoryLinks links;
  private final MirrorOptions options;
  private final RegistryMeters reports;
  private final FetchLimiter limiter;
  private final BlobFetcher blobs;
  private final ManifestFetcher manifests;
  private final ManifestHeads heads;
  private final ReferrersFetcher referrers;
  private final SharedReads fromShared;

  /**
   * @param limiter the fetch limit all upstreams share
   */
  public PullThrough(
      UpstreamClient client,
      ContentStore store,
      MirrorOptions options,
      MeterRegistry meters,
      FetchLimiter limiter) {
    this(client, store, options, meters, limiter, null);
  }

  /**
   * @param limiter the fetch limit all upstreams share
   * @param shared the store all replicas share ({@code storage.s3}), or null for none
   */
  public PullThrough(
      UpstreamClient client,
      ContentStore store,
      MirrorOptions options,
      MeterRegistry meters,
      FetchLimiter limiter,
      @Nullable SharedStore shared) {
    this(client, store, options, meters, limiter, shared, Peers.NONE);
  }

  /**
   * @param limiter the fetch limit all upstreams share
   * @param shared the store all replicas share ({@code storage.s3}), or null for none
   * @param peers the other replicas, asked for cold blobs whose digests they own and about stale
   *     tags they own
   */
  public PullThrough(
      UpstreamClient client,
      ContentStore store,
      MirrorOptions options,
      MeterRegistry meters,
      FetchLimiter limiter,
      @Nullable SharedStore shared,
      Peers peers) {
    this.limiter = requireNonNull(limiter, "limiter");
    this.client = requireNonNull(client, "client");
    this.store = requireNonNull(store, "store");
    this.options = requireNonNull(options, "options");
    this.reports = new RegistryMeters(name(), requireNonNull(meters, "meters"));
    this.tags =
        new TagIndex(store.root(), name(), store.background(), store.catalog(), store.mirror());
    this.links = new RepositoryLinks(store.root(), name(), store.background(), store.mirror());
    this.fromShared = new SharedReads(shared, store, links, tags, reports);
    this.blobs =
        new BlobFetcher(reports, client, store, links, limiter, options, fromShared, peers);
    this.manifests =
        new ManifestFetcher(
            reports,
            client,
            tags,
            links,
            limiter,
            options,
            new HotManifests(store),
            new ManifestPull(
                reports, client, store, tags, links, limiter, options.manifestMaxBytes()),
            fromShared,
            peers);
    this.heads = new ManifestHeads(manifests, client, tags, limiter, reports);
    this.referrers =
        new ReferrersFetcher(
            this,
            reports,
            client,
            limiter,
            options,
            new ReferrersStore(store, name(), store.background()));
  }

  @Override
  public String name() {
    return client.options().name();
  }

  /** The upstream's client, for its health (the status page). */
  public UpstreamClient client() {
    return client;
  }

  public ContentStore store() {
    return store;
  }

  public MirrorOptions options() {
    return options;
  }

  /** What this upstream refused lately (for the status page). */
  public Refusals refusals() {
    return reports.refusals();
  }

  /** The last verified mapping of {@code repo:tag}, or null; the upstream is not asked. */
  public TagIndex.@Nullable Entry cachedTag(RepositoryName repo, Tag tag) {
    return tags.get(repo, tag);
  }

  /** The tags of {@code repo} verified before (from disk); the upstream is not asked. */
  public List<String> cachedTags(RepositoryName repo) {
    return tags.tags(repo);
  }

  /** The verified manifest from memory or the store, or null; the upstream is not asked. */
  public @Nullable Manifest cachedManifest(Digest d) {
    return manifests.cachedManifest(d, false);
  }

  /**
   * True when the store's copy of {@code d} may be handed out under {@code repo} of this upstream:
   * the upstream said the repository holds it and has itself served its bytes (see {@link
   * RepositoryLinks}).
   */
  public boolean linked(RepositoryName repo, Digest d) {
    return links.has(repo, d) && links.served(d);
  }

  /**
   * The digest the upstream's tag points at now, computed from the manifest bytes (never taken from
   * a header). Neither the store nor the tag index is touched: used to report drift from a pin.
   */
  public CompletableFuture<Digest> upstreamDigest(
      RepositoryName repo, Tag tag, List<String> accept) {
    return manifests.upstreamDigest(repo, tag, accept);
  }

  // ---- manifests ----

  @Override
  public CompletableFuture<Manifest> manifest(
      RepositoryName repo, Reference ref, List<String> accept) {
    return manifests.manifest(repo, ref, accept);
  }

  @Override
  public CompletableFuture<ManifestHead> manifestHead(
      RepositoryName repo, Reference ref, List<String> accept) {
    return heads.head(repo, ref, accept);
  }

  /**
   * What {@code tag} names now, for another replica that holds this one for the tag's owner (the
   * peer path): from a fresh mapping or one revalidation with the upstream, never from a third
   * replica and never stale. The caller authenticated the peer; the peer checked its client's
   * access, and fetches and verifies the manifest itself.
   */
  public CompletableFuture<PeerTag> tagForPeer(RepositoryName repo, Tag tag, List<String> accept) {
    return manifests.forPeer(repo, tag, accept);
  }

  // ---- blobs ----

  @Override
  public CompletableFuture<BlobSource> blob(RepositoryName repo, Digest digest) {
    return blobs.blob(repo, digest);
  }

  /**
   * A redirect to the shared store's verified copy when this upstream may hand out the blob under
   * {@code repo} from here and the store is known to hold it (see {@link SharedReads#redirect});
   * else as {@link #blob}.
   */
  @Override
  public CompletableFuture<BlobSource> blobOrRedirect(RepositoryName repo, Digest digest) {
    BlobSource.Redirect r = fromShared.redirect(repo, digest);
    return r != null ? CompletableFuture.completedFuture(r) : blobs.blob(repo, digest);
  }

  /**
   * A blob another replica asks this one for as its owner (the peer path): from this replica's
   * tiers or its own download from the upstream, never passed on to a third replica. The caller
   * authenticated the peer; the peer checked its client's access.
   */
  public CompletableFuture<BlobSource> blobForPeer(RepositoryName repo, Digest digest) {
    return blobs.blobForPeer(repo, digest);
  }

  /** The verified blob from the store, leased against eviction; null when not cached. */
  public BlobSource.@Nullable Cached cachedBlob(Digest digest) {
    return BlobSource.Cached.lease(store, digest);
  }

  /** Size of a blob, from the store, a running download, or an upstream HEAD (never cached). */
  @Override
  public CompletableFuture<Long> blobSize(RepositoryName repo, Digest digest) {
    return blobs.blobSize(repo, digest);
  }

  // ---- referrers ----

  @Override
  public CompletableFuture<Referrers> referrers(RepositoryName repo, Digest subject) {
    return referrers.referrers(repo, subject);
  }

  /**
   * The last verified referrers list of {@code subject}, from memory or the store (so from before a
   * restart), or null; the upstream is not asked.
   */
  public @Nullable Referrers cachedReferrers(RepositoryName repo, Digest subject) {
    return referrers.cached(repo, subject);
  }

  // ---- tags ----

  /** One page of the upstream's tag list, passed through as the upstream paged it. */
  @Override
  public CompletableFuture<TagList> tagList(RepositoryName repo, String query) {
    String path = v2(repo, "tags", "list") + (query == null || query.isEmpty() ? "" : "?" + query);
    return limiter
        .run(() -> client.request(HttpMethod.GET, path, repo.value(), List.of("application/json")))
        .thenCompose(
            resp -> {
              if (resp.status() != 200) {
                resp.drain();
                throw UpstreamErrors.of(resp, OciErrorCode.NAME_UNKNOWN, "repository " + repo);
              }
              String link = resp.headers().get("Link");
              return resp.aggregate(MAX_TAG_LIST_BYTES).thenApply(body -> new TagList(body, link));
            });
  }

  static String v2(RepositoryName repo, String kind, String ref) {
    return "/v2/" + repo.value() + "/" + kind + "/" + ref;
  }
}
