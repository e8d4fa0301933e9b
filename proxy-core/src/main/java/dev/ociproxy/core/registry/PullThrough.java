package dev.ociproxy.core.registry;

import static java.util.Objects.requireNonNull;

import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.cache.RepositoryLinks;
import dev.ociproxy.core.cache.TagIndex;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.Reference;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.upstream.UpstreamClient;
import dev.ociproxy.core.verify.Refusals;
import dev.ociproxy.core.verify.VerificationException.Reason;
import dev.ociproxy.core.verify.VerificationException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.handler.codec.http.HttpMethod;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The pull-through cache of one upstream registry: serves verified content from the store, fetches
 * and verifies what is missing, and shares one upstream fetch between concurrent requests for the
 * same thing. Digests are answered local-first, tags remote-first with the last verified mapping as
 * the fallback (as distribution's proxy does). What the client asked for is the truth; the
 * upstream's headers are only claims.
 *
 * <p>This class owns the shared parts (store, links, meters, refusals); {@link ManifestFetcher} and
 * {@link BlobFetcher} do the two halves of the work. The {@code cached…} methods read only what is
 * held, never the upstream, for the air-gap's offline view.
 */
public final class PullThrough implements Registry {
  private static final long MAX_TAG_LIST_BYTES = 4L * 1024 * 1024;

  private final UpstreamClient client;
  private final ContentStore store;
  private final TagIndex tags;
  private final RepositoryLinks links;
  private final Refusals refusals;
  private final MirrorOptions options;
  private final MeterRegistry meters;
  private final FetchLimiter limiter;
  private final BlobFetcher blobs;
  private final ManifestFetcher manifests;
  private final ManifestHeads heads;
  private final ReferrersFetcher referrers;

  public PullThrough(
      UpstreamClient client, ContentStore store, MirrorOptions options, MeterRegistry meters) {
    this(client, store, options, meters, FetchLimiter.unlimited());
  }

  public PullThrough(
      UpstreamClient client, ContentStore store, MirrorOptions options, MeterRegistry meters,
      FetchLimiter limiter) {
    this.limiter = requireNonNull(limiter, "limiter");
    this.client = requireNonNull(client, "client");
    this.store = requireNonNull(store, "store");
    this.options = requireNonNull(options, "options");
    this.meters = requireNonNull(meters, "meters");
    this.refusals = new Refusals(meters);
    this.tags = new TagIndex(store.root(), name(), store.background(), store.catalog());
    this.links = new RepositoryLinks(store.root(), name(), store.background());
    this.blobs = new BlobFetcher(this, client, store, links, limiter, options);
    this.manifests = new ManifestFetcher(this, client, store, tags, links, limiter, options);
    this.heads = new ManifestHeads(manifests, client, tags, limiter);
    this.referrers = new ReferrersFetcher(this, client, limiter, options);
    registerGauges();
  }

  private void registerGauges() {
    Gauge.builder("registry_proxy_downloads_in_flight", blobs, BlobFetcher::inFlight)
        .description("Upstream fetches running now; each may feed several clients")
        .tag("upstream", name()).tag("kind", "blob").register(meters);
    Gauge.builder("registry_proxy_downloads_in_flight", manifests, ManifestFetcher::inFlight)
        .description("Upstream fetches running now; each may feed several clients")
        .tag("upstream", name()).tag("kind", "manifest").register(meters);
  }

  /** A request that joined a fetch already running instead of starting its own. */
  void coalesced(String kind) {
    Counter.builder("registry_proxy_coalesced_requests")
        .description("Requests that joined an upstream fetch already in flight instead of starting another")
        .tag("upstream", name()).tag("kind", kind).register(meters).increment();
  }

  /** A tag answered from its last verified manifest because the upstream is in trouble. */
  void staleServed() {
    meters.counter("registry_proxy_stale_serves", "upstream", name()).increment();
  }

  void received(String kind, long bytes) {
    Counter.builder("registry_proxy_upstream_received_bytes")
        .description("Body bytes read from upstreams for manifests and blobs (verified or not)")
        .baseUnit("bytes")
        .tag("upstream", name()).tag("kind", kind).register(meters).increment(bytes);
  }

  @Override
  public String name() {
    return client.options().name();
  }

  public UpstreamClient client() {
    return client;
  }

  public ContentStore store() {
    return store;
  }

  public MirrorOptions options() {
    return options;
  }

  /** What this mirror refused lately (for the status page). */
  public Refusals refusals() {
    return refusals;
  }

  /** The last verified mapping of {@code repo:tag}, or null; the upstream is not asked. */
  public TagIndex.Entry cachedTag(RepositoryName repo, Tag tag) {
    return tags.get(repo, tag);
  }

  /** The tags of {@code repo} verified before (from disk); the upstream is not asked. */
  public List<String> cachedTags(RepositoryName repo) {
    return tags.tags(repo);
  }

  /** The verified manifest from memory or the store, or null; the upstream is not asked. */
  public Manifest cachedManifest(Digest d) {
    return manifests.cachedManifest(d, false);
  }

  /** True when {@code repo} is known to hold {@code d} (the upstream served it from there). */
  public boolean linked(RepositoryName repo, Digest d) {
    return links.has(repo, d);
  }

  /**
   * The digest the upstream's tag points at now, computed from the manifest bytes (never taken from
   * a header). Neither the store nor the tag index is touched: used to report drift from a pin.
   */
  public CompletableFuture<Digest> upstreamDigest(RepositoryName repo, Tag tag, List<String> accept) {
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

  /** Records that {@code repo} holds {@code digest} (for content imported from elsewhere). */
  public void link(RepositoryName repo, Digest digest) {
    links.add(repo, digest);
  }

  VerificationException refuse(
      RepositoryName repo, String asked, Digest requested, Reason reason, String arrived) {
    refusals.record(name(), repo.value(), asked, reason, arrived);
    return new VerificationException(reason, requested, arrived);
  }

  // ---- blobs ----

  @Override
  public CompletableFuture<BlobSource> blob(RepositoryName repo, Digest digest) {
    return blobs.blob(repo, digest);
  }

  /** The verified blob from the store, leased against eviction; null when not cached. */
  public BlobSource.Cached cachedBlob(Digest digest) {
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

  /** The last verified referrers list of {@code subject}, or null; the upstream is not asked. */
  public Referrers cachedReferrers(RepositoryName repo, Digest subject) {
    return referrers.cached(repo, subject);
  }

  // ---- tags ----

  /** One page of the upstream's tag list, passed through as the upstream paged it. */
  @Override
  public CompletableFuture<TagList> tagList(RepositoryName repo, String query) {
    String path = v2(repo, "tags", "list") + (query == null || query.isEmpty() ? "" : "?" + query);
    return limiter.run(() -> client
        .request(HttpMethod.GET, path, repo.value(), List.of("application/json")))
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
