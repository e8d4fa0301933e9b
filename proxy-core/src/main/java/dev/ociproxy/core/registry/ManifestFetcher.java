package dev.ociproxy.core.registry;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.cache.RepositoryLinks;
import dev.ociproxy.core.cache.TagIndex;
import dev.ociproxy.core.concurrent.Futures;
import dev.ociproxy.core.concurrent.SingleFlight;
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
import dev.ociproxy.core.upstream.UpstreamTimeoutException;
import dev.ociproxy.core.verify.DigestHeader;
import dev.ociproxy.core.verify.ManifestCheck;
import dev.ociproxy.core.verify.VerificationException;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The manifest half of a {@link PullThrough}: answers hot tags and digests from memory, fetches and
 * verifies the rest (a digest must hash to itself, a tag's body to any digest header), shares one
 * upstream fetch between concurrent requests, and serves the last verified tag when the upstream is
 * in trouble. Thread-safe.
 */
final class ManifestFetcher {
  private static final Logger log = LoggerFactory.getLogger(ManifestFetcher.class);
  private static final long HOT_MANIFEST_BYTES = 32L * 1024 * 1024;

  private final RegistryMeters meters;
  private final UpstreamClient client;
  private final ContentStore store;
  private final TagIndex tags;
  private final RepositoryLinks links;
  private final FetchLimiter limiter;
  private final MirrorOptions options;
  private final Freshness freshness;
  private final SingleFlight<String, Manifest> fetches;

  /** Verified manifests kept parsed in memory, so hot tags and digests cost no disk read. */
  private final Cache<Digest, HotManifest> hot =
      Caffeine.newBuilder()
          .maximumWeight(HOT_MANIFEST_BYTES)
          .weigher((Digest d, HotManifest h) -> h.manifest().body().length + 256)
          .executor(Runnable::run) // maintenance inline: no common-pool wake-ups per few requests
          .build();

  ManifestFetcher(
      RegistryMeters meters,
      UpstreamClient client,
      ContentStore store,
      TagIndex tags,
      RepositoryLinks links,
      FetchLimiter limiter,
      MirrorOptions options) {
    this.meters = meters;
    this.client = client;
    this.store = store;
    this.tags = tags;
    this.links = links;
    this.limiter = limiter;
    this.options = options;
    this.freshness = new Freshness(options.freshness(), options.tagTtl());
    this.fetches = new SingleFlight<>(m -> true, () -> meters.coalesced("manifest"));
    meters.inFlight("manifest", fetches::size);
  }

  /** The digest the upstream's tag points at now, from the body; nothing is stored. */
  CompletableFuture<Digest> upstreamDigest(RepositoryName repo, Tag tag, List<String> accept) {
    String asked = repo + ":" + tag;
    return limiter
        .run(
            () ->
                client.request(
                    HttpMethod.GET,
                    PullThrough.v2(repo, "manifests", tag.value()),
                    repo.value(),
                    accept))
        .thenCompose(
            resp -> {
              if (resp.status() != 200) {
                resp.drain();
                throw UpstreamErrors.of(resp, OciErrorCode.MANIFEST_UNKNOWN, "manifest " + asked);
              }
              return readManifest(resp, repo, asked).thenApply(Digest::sha256);
            });
  }

  /** Resolves a manifest by tag or digest. */
  CompletableFuture<Manifest> manifest(RepositoryName repo, Reference ref, List<String> accept) {
    if (ref instanceof Digest d) {
      // Listed in one of this upstream's indexes is a hint; its bytes must have come from it too.
      Manifest cached = links.has(repo, d) && links.served(d) ? cachedManifest(d, false) : null;
      if (cached != null) {
        return CompletableFuture.completedFuture(cached);
      }
      return singleFlight("d " + repo + "@" + d, () -> fetchByDigest(repo, d));
    }
    Tag tag = (Tag) ref;
    TagIndex.Entry known = tags.get(repo, tag);
    Manifest cached = verifiedFor(known, accept);
    if (known != null && cached != null && isFresh(tag, known)) {
      return CompletableFuture.completedFuture(cached);
    }
    return singleFlight(
            "t " + repo + ":" + tag + " " + accept,
            () ->
                known != null && cached != null
                    ? revalidate(repo, tag, accept, known, cached)
                    : fetchByTag(repo, tag, accept))
        .exceptionallyCompose(err -> staleOr(err, repo, tag, known));
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
                return fetchByTag(repo, tag, accept);
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

  /** A verified manifest in memory, with its store path built once rather than per request. */
  private record HotManifest(Manifest manifest, java.nio.file.Path path) {}

  /** The verified manifest from memory or the store (stale: marked as served stale), or null. */
  @Nullable Manifest cachedManifest(Digest d, boolean stale) {
    HotManifest h = hot.getIfPresent(d);
    if (h == null) {
      byte[] body = store.readManifest(d);
      if (body == null) {
        return null;
      }
      h =
          new HotManifest(
              new Manifest(d, ManifestDocument.parse(body, null).mediaType(), body, true, false),
              store.manifestPath(d));
      hot.put(d, h);
    }
    store.index().touch(h.path()); // for the disk budget's LRU order
    Manifest m = h.manifest();
    return stale ? new Manifest(d, m.mediaType(), m.body(), true, true) : m;
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

  private CompletableFuture<Manifest> fetchByDigest(RepositoryName repo, Digest digest) {
    return client
        .request(
            HttpMethod.GET,
            PullThrough.v2(repo, "manifests", digest.toString()),
            repo.value(),
            MediaTypes.ALL_MANIFESTS)
        .thenCompose(
            resp -> {
              if (resp.status() != 200) {
                resp.drain();
                throw UpstreamErrors.of(resp, OciErrorCode.MANIFEST_UNKNOWN, "manifest " + digest);
              }
              return readManifest(resp, repo, digest.toString())
                  .thenApply(
                      body -> {
                        ManifestDocument doc =
                            checked(repo, digest.toString(), resp, body, digest).document();
                        store.putManifest(digest, body);
                        links.addServed(digest);
                        linkManifest(repo, digest, doc);
                        return new Manifest(digest, doc.mediaType(), body, false, false);
                      });
            });
  }

  private CompletableFuture<Manifest> fetchByTag(
      RepositoryName repo, Tag tag, List<String> accept) {
    List<String> ask = ask(accept);
    boolean askedForIndex = ask.stream().anyMatch(MediaTypes::isIndex) || ask.contains("*/*");
    String asked = repo + ":" + tag;
    return client
        .request(HttpMethod.GET, PullThrough.v2(repo, "manifests", tag.value()), repo.value(), ask)
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
                        ManifestCheck.Passed passed = checked(repo, asked, resp, body, null);
                        Digest computed = passed.digest();
                        Digest claimed = passed.claimed();
                        ManifestDocument doc = passed.document();
                        String mediaType = doc.mediaType();
                        store.putManifest(computed, body);
                        links.addServed(computed);
                        linkManifest(repo, computed, doc);
                        if (claimed != null && !claimed.equals(computed)) {
                          store.putManifest(claimed, body);
                          links.addServed(claimed);
                          links.add(repo, claimed);
                        }
                        tags.put(
                            repo,
                            tag,
                            new TagIndex.Entry(
                                computed, mediaType, System.currentTimeMillis(), askedForIndex));
                        return new Manifest(computed, mediaType, body, false, false);
                      });
            });
  }

  private CompletableFuture<byte[]> readManifest(
      UpstreamResponse resp, RepositoryName repo, String asked) {
    return resp.aggregate(options.manifestMaxBytes())
        .whenComplete(
            (body, err) -> {
              if (body != null) {
                meters.received("manifest", body.length);
              }
            })
        .exceptionally(
            err -> {
              Throwable cause = Futures.cause(err);
              if (cause instanceof UpstreamResponse.BodyTooLargeException) {
                throw meters.refused(repo, asked, ManifestCheck.tooLarge(cause.getMessage()));
              }
              throw cause instanceof RuntimeException r ? r : new CompletionException(cause);
            });
  }

  /**
   * Records that the upstream served {@code digest} from {@code repo}, and with it everything the
   * manifest references: the upstream says the repository holds them. A hint only: the store's copy
   * of a referenced digest is handed out under this upstream once it has served those bytes itself.
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

  /**
   * The manifest as {@link ManifestCheck} passed it (by digest, or by tag when {@code requested} is
   * null); a refusal is reported and thrown.
   */
  private ManifestCheck.Passed checked(
      RepositoryName repo,
      String asked,
      UpstreamResponse resp,
      byte[] body,
      @Nullable Digest requested) {
    String header = resp.headers().get(DigestHeader.NAME);
    String contentType = resp.headers().get(HttpHeaderNames.CONTENT_TYPE);
    try {
      return requested != null
          ? ManifestCheck.byDigest(requested, body, header, contentType)
          : ManifestCheck.byTag(body, header, contentType);
    } catch (VerificationException v) {
      throw meters.refused(repo, asked, v);
    }
  }
}
