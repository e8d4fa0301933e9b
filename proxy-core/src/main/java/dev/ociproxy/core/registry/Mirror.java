package dev.ociproxy.core.registry;

import static java.util.Objects.requireNonNull;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.cache.RepositoryLinks;
import dev.ociproxy.core.cache.TagIndex;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.ManifestDocument;
import dev.ociproxy.core.oci.MediaTypes;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.Reference;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.upstream.UpstreamClient;
import dev.ociproxy.core.upstream.UpstreamResponse;
import dev.ociproxy.core.verify.Refusals;
import dev.ociproxy.core.verify.VerificationException;
import dev.ociproxy.core.verify.VerificationException.Reason;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The proxy's view of one upstream registry: serves verified content from the store, fetches and
 * verifies what is missing, and shares one upstream fetch between concurrent requests for the same
 * thing. What the client asked for is the truth; the upstream's headers are only claims.
 */
public final class Mirror {
  private static final Logger log = LoggerFactory.getLogger(Mirror.class);
  private static final long MAX_TAG_LIST_BYTES = 4L * 1024 * 1024;
  private static final long HOT_MANIFEST_BYTES = 32L * 1024 * 1024;

  private final UpstreamClient client;
  private final ContentStore store;
  private final TagIndex tags;
  private final RepositoryLinks links;
  private final Refusals refusals;
  private final MirrorOptions options;
  private final MeterRegistry meters;
  private final FetchLimiter limiter;
  private final BlobFetcher blobs;
  private final ConcurrentMap<String, CompletableFuture<Manifest>> manifestFetches =
      new ConcurrentHashMap<>();
  private volatile MirrorGate gate = MirrorGate.OPEN;
  /** Verified manifests kept parsed in memory, so hot tags and digests cost no disk read. */
  private final Cache<Digest, HotManifest> hot = Caffeine.newBuilder()
      .maximumWeight(HOT_MANIFEST_BYTES)
      .weigher((Digest d, HotManifest h) -> h.manifest().body().length + 256)
      .executor(Runnable::run) // maintenance inline: no common-pool wake-ups per few requests
      .build();

  public Mirror(
      UpstreamClient client, ContentStore store, MirrorOptions options, MeterRegistry meters) {
    this(client, store, options, meters, FetchLimiter.unlimited());
  }

  public Mirror(
      UpstreamClient client, ContentStore store, MirrorOptions options, MeterRegistry meters,
      FetchLimiter limiter) {
    this.limiter = requireNonNull(limiter, "limiter");
    this.client = requireNonNull(client, "client");
    this.store = requireNonNull(store, "store");
    this.options = requireNonNull(options, "options");
    this.meters = requireNonNull(meters, "meters");
    this.refusals = new Refusals(meters);
    this.tags = new TagIndex(store.root(), name());
    this.links = new RepositoryLinks(store.root(), name());
    this.blobs = new BlobFetcher(this, client, store, links, limiter, options);
    registerGauges();
  }

  private void registerGauges() {
    Gauge.builder("registry_proxy_downloads_in_flight", blobs, BlobFetcher::inFlight)
        .description("Upstream fetches running now; each may feed several clients")
        .tag("upstream", name()).tag("kind", "blob").register(meters);
    Gauge.builder("registry_proxy_downloads_in_flight", manifestFetches, Map::size)
        .description("Upstream fetches running now; each may feed several clients")
        .tag("upstream", name()).tag("kind", "manifest").register(meters);
  }

  /** A request that joined a fetch already running instead of starting its own. */
  void coalesced(String kind) {
    Counter.builder("registry_proxy_coalesced_requests")
        .description("Requests that joined an upstream fetch already in flight instead of starting another")
        .tag("upstream", name()).tag("kind", kind).register(meters).increment();
  }

  void received(String kind, long bytes) {
    Counter.builder("registry_proxy_upstream_received_bytes")
        .description("Body bytes read from upstreams for manifests and blobs (verified or not)")
        .baseUnit("bytes")
        .tag("upstream", name()).tag("kind", kind).register(meters).increment(bytes);
  }

  public String name() {
    return client.options().name();
  }

  public UpstreamClient client() {
    return client;
  }

  /** Installs the air-gap rules (offline, pins, policy) this mirror applies; see {@link MirrorGate}. */
  public Mirror gate(MirrorGate g) {
    this.gate = requireNonNull(g, "gate");
    return this;
  }

  public MirrorGate gate() {
    return gate;
  }

  public ContentStore store() {
    return store;
  }

  public MirrorOptions options() {
    return options;
  }

  Refusals refusals() {
    return refusals;
  }

  TagIndex tagIndex() {
    return tags;
  }

  /** The verified manifest from the store, or null; for {@link Gatekeeper}. */
  Manifest cachedManifestOrNull(Digest d) {
    return cachedManifest(d, false);
  }

  /** True when {@code repo} is known to hold {@code d}; for {@link Gatekeeper}. */
  boolean linked(RepositoryName repo, Digest d) {
    return links.has(repo, d);
  }

  /**
   * The digest the upstream's tag points at now, computed from the manifest bytes (never taken from
   * a header). Neither the store nor the tag index is touched: used to report drift from a pin.
   */
  public CompletableFuture<Digest> upstreamDigest(RepositoryName repo, Tag tag, List<String> accept) {
    if (gate.offline()) {
      return CompletableFuture.failedFuture(
          Gatekeeper.offline(this, OciErrorCode.MANIFEST_UNKNOWN, "the upstream digest of " + repo + ":" + tag));
    }
    String asked = repo + ":" + tag;
    return limiter.run(() -> client
        .request(HttpMethod.GET, v2(repo, "manifests", tag.value()), repo.value(), accept))
        .thenCompose(
            resp -> {
              if (resp.status() != 200) {
                resp.drain();
                throw UpstreamErrors.of(resp, OciErrorCode.MANIFEST_UNKNOWN, "manifest " + asked);
              }
              return readManifest(resp, repo, asked).thenApply(Digest::sha256);
            });
  }

  // ---- manifests ----

  /** Resolves a manifest by tag or digest; {@code accept} is the client's Accept list. */
  public CompletableFuture<Manifest> manifest(
      RepositoryName repo, Reference ref, List<String> accept) {
    MirrorGate g = gate;
    if (g != MirrorGate.OPEN) {
      CompletableFuture<Manifest> gated = Gatekeeper.manifest(this, g, repo, ref, accept);
      if (gated != null) {
        return gated;
      }
    }
    if (ref instanceof Digest d) {
      Manifest cached = links.has(repo, d) ? cachedManifest(d, false) : null;
      if (cached != null) {
        return CompletableFuture.completedFuture(cached);
      }
      return singleFlight("d " + repo + "@" + d, () -> fetchByDigest(repo, d));
    }
    Tag tag = (Tag) ref;
    TagIndex.Entry known = tags.get(repo, tag);
    if (known != null && isFresh(known) && suits(known, accept)) {
      Manifest cached = cachedManifest(known.digest(), false);
      if (cached != null) {
        return CompletableFuture.completedFuture(cached);
      }
    }
    return singleFlight("t " + repo + ":" + tag + " " + accept, () -> fetchByTag(repo, tag, accept))
        .exceptionallyCompose(
            err -> {
              Throwable cause = unwrap(err);
              if (known != null && UpstreamErrors.isUpstreamTrouble(cause)) {
                Manifest stale = cachedManifest(known.digest(), true);
                if (stale != null) {
                  log.warn(
                      "upstream {} failed ({}); serving last verified {}:{} -> {}",
                      name(), cause.getMessage(), repo, tag, known.digest());
                  meters.counter("registry_proxy_stale_serves", "upstream", name()).increment();
                  return CompletableFuture.completedFuture(stale);
                }
              }
              return CompletableFuture.failedFuture(cause);
            });
  }

  private boolean isFresh(TagIndex.Entry e) {
    return System.currentTimeMillis() - e.verifiedAtMillis() < options.tagTtl().toMillis();
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

  /** A verified manifest in memory, with its store path built once rather than per request. */
  private record HotManifest(Manifest manifest, java.nio.file.Path path) {}

  private Manifest cachedManifest(Digest d, boolean stale) {
    HotManifest h = hot.getIfPresent(d);
    if (h == null) {
      byte[] body = store.readManifest(d);
      if (body == null) {
        return null;
      }
      h = new HotManifest(
          new Manifest(d, ManifestDocument.parse(body, null).mediaType(), body, true, false),
          store.manifestPath(d));
      hot.put(d, h);
    }
    store.index().touch(h.path()); // for the disk budget's LRU order
    Manifest m = h.manifest();
    return stale ? new Manifest(d, m.mediaType(), m.body(), true, true) : m;
  }

  private CompletableFuture<Manifest> singleFlight(
      String key, Supplier<CompletableFuture<Manifest>> fetch) {
    CompletableFuture<Manifest> mine = new CompletableFuture<>();
    CompletableFuture<Manifest> existing = manifestFetches.putIfAbsent(key, mine);
    if (existing != null) {
      coalesced("manifest");
      return existing;
    }
    CompletableFuture<Manifest> f;
    try {
      f = limiter.run(fetch).orTimeout(options.manifestTimeout().toMillis(), TimeUnit.MILLISECONDS);
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    f.whenComplete(
        (m, err) -> {
          manifestFetches.remove(key, mine);
          if (err == null) {
            mine.complete(m);
          } else {
            Throwable cause = unwrap(err);
            mine.completeExceptionally(
                cause instanceof TimeoutException
                    ? new dev.ociproxy.core.upstream.UpstreamTimeoutException(
                        "upstream manifest fetch took longer than " + options.manifestTimeout())
                    : cause);
          }
        });
    return mine;
  }

  private CompletableFuture<Manifest> fetchByDigest(RepositoryName repo, Digest digest) {
    return client
        .request(HttpMethod.GET, v2(repo, "manifests", digest.toString()), repo.value(), MediaTypes.ALL_MANIFESTS)
        .thenCompose(
            resp -> {
              if (resp.status() != 200) {
                resp.drain();
                throw UpstreamErrors.of(resp, OciErrorCode.MANIFEST_UNKNOWN, "manifest " + digest);
              }
              return readManifest(resp, repo, digest.toString())
                  .thenApply(
                      body -> {
                        Digest actual = Digest.of(digest.algorithm(), body);
                        if (!actual.equals(digest)) {
                          throw refuse(
                              repo, digest.toString(), digest, Reason.DIGEST_MISMATCH,
                              "got " + actual + " (" + body.length + " bytes, Docker-Content-Digest: "
                                  + resp.headers().get("Docker-Content-Digest") + "), want " + digest);
                        }
                        ManifestDocument doc = checkDocument(repo, digest.toString(), digest, body, resp);
                        store.putManifest(digest, body);
                        linkManifest(repo, digest, doc);
                        return new Manifest(digest, doc.mediaType(), body, false, false);
                      });
            });
  }

  private CompletableFuture<Manifest> fetchByTag(
      RepositoryName repo, Tag tag, List<String> accept) {
    List<String> ask = accept.isEmpty() ? MediaTypes.ALL_MANIFESTS : accept;
    boolean askedForIndex = ask.stream().anyMatch(MediaTypes::isIndex) || ask.contains("*/*");
    String asked = repo + ":" + tag;
    return client
        .request(HttpMethod.GET, v2(repo, "manifests", tag.value()), repo.value(), ask)
        .thenCompose(
            resp -> {
              if (resp.status() != 200) {
                resp.drain();
                if (resp.status() == 404) {
                  tags.remove(repo, tag);
                }
                throw UpstreamErrors.of(resp, OciErrorCode.MANIFEST_UNKNOWN, "manifest " + asked);
              }
              return readManifest(resp, repo, asked)
                  .thenApply(
                      body -> {
                        Digest computed = Digest.sha256(body);
                        String header = resp.headers().get("Docker-Content-Digest");
                        Digest claimed = null;
                        if (header != null) {
                          try {
                            claimed = Digest.parse(header.trim());
                          } catch (RegistryException e) {
                            throw refuse(repo, asked, null, Reason.DIGEST_HEADER_MISMATCH,
                                "unusable Docker-Content-Digest " + header);
                          }
                          Digest actual = Digest.of(claimed.algorithm(), body);
                          if (!actual.equals(claimed)) {
                            throw refuse(repo, asked, null, Reason.DIGEST_HEADER_MISMATCH,
                                "Docker-Content-Digest " + claimed + " but body hashes to " + actual);
                          }
                        }
                        ManifestDocument doc = checkDocument(repo, asked, null, body, resp);
                        String mediaType = doc.mediaType();
                        store.putManifest(computed, body);
                        linkManifest(repo, computed, doc);
                        if (claimed != null && !claimed.equals(computed)) {
                          store.putManifest(claimed, body);
                          links.add(repo, claimed);
                        }
                        tags.put(repo, tag, new TagIndex.Entry(
                            computed, mediaType, System.currentTimeMillis(), askedForIndex));
                        return new Manifest(computed, mediaType, body, false, false);
                      });
            });
  }

  private CompletableFuture<byte[]> readManifest(UpstreamResponse resp, RepositoryName repo, String asked) {
    return resp.aggregate(options.manifestMaxBytes())
        .whenComplete((body, err) -> {
          if (body != null) {
            received("manifest", body.length);
          }
        })
        .exceptionally(
            err -> {
              Throwable cause = unwrap(err);
              if (cause instanceof UpstreamResponse.BodyTooLargeException) {
                throw refuse(repo, asked, null, Reason.TOO_LARGE, cause.getMessage());
              }
              throw cause instanceof RuntimeException r ? r : new CompletionException(cause);
            });
  }

  /**
   * Records that the upstream served {@code digest} from {@code repo}, and with it everything the
   * manifest references: the upstream has vouched that the repository holds them.
   */
  private void linkManifest(RepositoryName repo, Digest digest, ManifestDocument doc) {
    links.add(repo, digest);
    try {
      for (var d : doc.isIndex() ? doc.manifests() : doc.blobs()) {
        links.add(repo, d.digest());
      }
    } catch (RegistryException e) {
      // A descriptor we cannot parse links nothing; the manifest itself is still valid JSON.
    }
  }

  /** Records that {@code repo} holds {@code digest} (for content imported from elsewhere). */
  public void link(RepositoryName repo, Digest digest) {
    links.add(repo, digest);
  }

  private ManifestDocument checkDocument(
      RepositoryName repo, String asked, Digest requested, byte[] body, UpstreamResponse resp) {
    String contentType = resp.headers().get(HttpHeaderNames.CONTENT_TYPE);
    try {
      return ManifestDocument.parse(body, contentType);
    } catch (RegistryException e) {
      throw refuse(repo, asked, requested, Reason.MEDIA_TYPE_MISMATCH,
          e.getMessage() + " (Content-Type: " + contentType + ")");
    }
  }

  VerificationException refuse(
      RepositoryName repo, String asked, Digest requested, Reason reason, String arrived) {
    refusals.record(name(), repo.value(), asked, reason, arrived);
    return new VerificationException(reason, requested, arrived);
  }

  // ---- blobs ----

  /** A blob from the store, or a (possibly shared) download that readers tail. */
  public CompletableFuture<BlobSource> blob(RepositoryName repo, Digest digest) {
    MirrorGate g = gate;
    if (g != MirrorGate.OPEN) {
      CompletableFuture<BlobSource> gated = Gatekeeper.blob(this, g, repo, digest);
      if (gated != null) {
        return gated;
      }
    }
    return blobs.blob(repo, digest);
  }

  /** The verified blob from the store, leased against eviction; null when not cached. */
  public BlobSource.Cached cachedBlob(Digest digest) {
    return blobs.cachedBlob(digest);
  }

  /** Size of a blob, from the store, a running download, or an upstream HEAD (never cached). */
  public CompletableFuture<Long> blobSize(RepositoryName repo, Digest digest) {
    MirrorGate g = gate;
    if (g != MirrorGate.OPEN) {
      CompletableFuture<Long> gated = Gatekeeper.blobSize(this, g, repo, digest);
      if (gated != null) {
        return gated;
      }
    }
    return blobs.blobSize(repo, digest);
  }

  // ---- tags ----

  /** One page of the upstream's tag list; {@code query} is the client's {@code n}/{@code last}. */
  public CompletableFuture<TagList> tagList(RepositoryName repo, String query) {
    MirrorGate g = gate;
    if (g != MirrorGate.OPEN) {
      CompletableFuture<TagList> gated = Gatekeeper.tagList(g, repo);
      if (gated != null) {
        return gated;
      }
    }
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

  static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof java.util.concurrent.ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }
}
