package dev.ociproxy.core.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ociproxy.core.concurrent.Futures;
import dev.ociproxy.core.concurrent.SingleFlight;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.ManifestDocument;
import dev.ociproxy.core.oci.MediaTypes;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.registry.Referrers.Referrer;
import dev.ociproxy.core.upstream.UpstreamClient;
import dev.ociproxy.core.verify.VerificationException;
import dev.ociproxy.core.verify.VerificationException.Reason;
import io.netty.handler.codec.http.HttpMethod;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.jspecify.annotations.Nullable;

/**
 * The referrers of a digest, as only a verifying proxy can list them: the upstream's list (its
 * referrers API, or the {@code <alg>-<hex>} tag of the referrers tag schema when it has none) is a
 * claim; each listed manifest is fetched by digest through the verifying path and listed only if
 * its size is the listed one and its {@code subject} is the digest asked. What is listed is
 * recomputed from the manifest, never copied. Lies are dropped and recorded as refusals. A verified
 * list is kept like a tag, in a {@link ReferrersStore} (so across restarts): fresh as long as the
 * freshness rules say for its {@code sha256-<hex>} tag, served stale when the upstream is in
 * trouble. Concurrent requests for one list share one fetch.
 */
final class ReferrersFetcher {
  /** Pages of an upstream's list followed at most; a list that goes on is cut here. */
  static final int MAX_PAGES = 10;

  /** Referrers listed at most per digest. */
  static final int MAX_ENTRIES = 1000;

  private static final long MAX_PAGE_BYTES = 4L * 1024 * 1024;

  /** How long an upstream without the API is not asked for it again. */
  private static final Duration API_RECHECK = Duration.ofMinutes(10);

  private static final ObjectMapper JSON = new ObjectMapper();

  /** A listed descriptor: what the upstream claims, to be checked. */
  private record Claim(String mediaType, Digest digest, long size) {}

  private final PullThrough mirror;
  private final RegistryMeters meters;
  private final UpstreamClient client;
  private final FetchLimiter limiter;
  private final Freshness freshness;
  private final ReferrersStore saved;
  private final SingleFlight<String, Referrers> fetches;

  /** System.nanoTime until which the upstream is taken to lack the API; null when it has it. */
  private volatile @Nullable Long apiMissingUntil;

  ReferrersFetcher(
      PullThrough mirror,
      RegistryMeters meters,
      UpstreamClient client,
      FetchLimiter limiter,
      MirrorOptions options,
      ReferrersStore saved) {
    this.mirror = mirror;
    this.meters = meters;
    this.client = client;
    this.limiter = limiter;
    this.freshness = new Freshness(options.freshness(), options.tagTtl());
    this.saved = saved;
    this.fetches = new SingleFlight<>(r -> true, () -> meters.coalesced("referrers"));
  }

  CompletableFuture<Referrers> referrers(RepositoryName repo, Digest subject) {
    ReferrersStore.Entry held = saved.get(repo, subject);
    // Fresh as the tag-schema tag would be: the freshness rules for sha256-<hex> (default 1
    // minute).
    if (held != null && freshness.isFresh(schemaTag(subject), held.verifiedAtMillis())) {
      return CompletableFuture.completedFuture(held.referrers());
    }
    return fetches.run(repo.value() + "@" + subject, () -> fetch(repo, subject, held));
  }

  private CompletableFuture<Referrers> fetch(
      RepositoryName repo, Digest subject, ReferrersStore.@Nullable Entry held) {
    return listed(repo, subject)
        .thenCompose(claims -> verifyAll(repo, subject, claims))
        .handle(
            (fresh, err) -> {
              if (err == null) {
                saved.put(repo, new ReferrersStore.Entry(fresh, System.currentTimeMillis()));
                return fresh;
              }
              Throwable cause = Futures.cause(err);
              if (held != null && UpstreamErrors.isUpstreamTrouble(cause)) {
                meters.staleServed();
                return held.referrers().asStale();
              }
              throw cause instanceof RuntimeException r ? r : new CompletionException(cause);
            });
  }

  /**
   * The last verified list, whatever its age (from memory or the store), or null; the upstream is
   * not asked.
   */
  @Nullable Referrers cached(RepositoryName repo, Digest subject) {
    ReferrersStore.Entry held = saved.get(repo, subject);
    return held == null ? null : held.referrers();
  }

  private CompletableFuture<List<Claim>> listed(RepositoryName repo, Digest subject) {
    Long missing = apiMissingUntil;
    if (missing != null && System.nanoTime() - missing < 0) {
      return fromTagSchema(repo, subject);
    }
    return page(repo, subject, apiPath(repo, subject), new ArrayList<>(), 1);
  }

  private static String apiPath(RepositoryName repo, Digest subject) {
    return PullThrough.v2(repo, "referrers", subject.toString());
  }

  private CompletableFuture<List<Claim>> page(
      RepositoryName repo, Digest subject, String path, List<Claim> claims, int n) {
    return limiter
        .run(
            () -> client.request(HttpMethod.GET, path, repo.value(), List.of(MediaTypes.OCI_INDEX)))
        .thenCompose(
            resp -> {
              String type = MediaTypes.bare(resp.headers().get("Content-Type"));
              boolean isList =
                  resp.status() == 200
                      && (MediaTypes.OCI_INDEX.equals(type) || "application/json".equals(type));
              if (!isList) {
                resp.drain();
                if (n == 1
                    && (resp.status() == 404 || resp.status() == 405 || resp.status() == 200)) {
                  // No referrers API (distribution 2.8: 404; GHCR: a redirect to an HTML page).
                  apiMissingUntil = System.nanoTime() + API_RECHECK.toNanos();
                  return fromTagSchema(repo, subject);
                }
                throw UpstreamErrors.of(
                    resp, OciErrorCode.MANIFEST_UNKNOWN, "referrers of " + subject);
              }
              apiMissingUntil = null;
              String link = resp.headers().get("Link");
              URI at = resp.uri();
              return resp.aggregate(MAX_PAGE_BYTES)
                  .thenCompose(
                      body -> {
                        boolean full = addClaims(repo, subject, body, claims);
                        String next = full ? null : nextPage(repo, subject, at, link);
                        if (next == null) {
                          return CompletableFuture.completedFuture(claims);
                        }
                        if (n == MAX_PAGES) {
                          meters.refuse(
                              repo,
                              "referrers of " + subject,
                              subject,
                              Reason.TOO_MANY,
                              "a list longer than "
                                  + MAX_PAGES
                                  + " pages (next: "
                                  + next
                                  + "); the rest is not listed");
                          return CompletableFuture.completedFuture(claims);
                        }
                        return page(repo, subject, next, claims, n + 1);
                      });
            });
  }

  /** Adds the page's descriptors; true when the bound on entries is reached. */
  private boolean addClaims(RepositoryName repo, Digest subject, byte[] body, List<Claim> claims) {
    JsonNode list;
    try {
      list = JSON.readTree(body).path("manifests");
    } catch (IOException | RuntimeException e) {
      list = null;
    }
    if (list == null || !list.isArray()) {
      throw meters.refuse(
          repo,
          "referrers of " + subject,
          subject,
          Reason.INVALID_MANIFEST,
          "a referrers list that is not an image index (" + body.length + " bytes)");
    }
    for (JsonNode d : list) {
      if (claims.size() == MAX_ENTRIES) {
        meters.refuse(
            repo,
            "referrers of " + subject,
            subject,
            Reason.TOO_MANY,
            "more than " + MAX_ENTRIES + " referrers listed; the rest is not listed");
        return true;
      }
      String digest = d.path("digest").asText("");
      if (!d.path("mediaType").isTextual()
          || !d.path("size").canConvertToLong()
          || d.path("size").asLong() < 0
          || !Digest.looksLikeDigest(digest)) {
        meters.refuse(
            repo,
            "referrers of " + subject,
            subject,
            Reason.INVALID_MANIFEST,
            "a malformed descriptor in the referrers list: " + d);
        continue;
      }
      claims.add(
          new Claim(d.path("mediaType").asText(), Digest.parse(digest), d.path("size").asLong()));
    }
    return false;
  }

  /**
   * The path and query of the next page, or null when there is none. A {@code Link} is followed
   * only to the upstream's own origin and the same referrers path (oras-go's GHSA-h7vf-4x9w-h99v
   * was an SSRF through a Link to elsewhere); anything else is refused.
   */
  private @Nullable String nextPage(
      RepositoryName repo, Digest subject, URI at, @Nullable String link) {
    if (link == null || !link.startsWith("<") || link.indexOf('>') < 0) {
      return null;
    }
    URI target;
    try {
      target = at.resolve(link.substring(1, link.indexOf('>')));
    } catch (IllegalArgumentException e) {
      target = null;
    }
    URI origin = client.options().url();
    if (target == null
        || !UpstreamClient.sameOrigin(target, origin)
        || !apiPath(repo, subject).equals(target.getRawPath())) {
      meters.refuse(
          repo,
          "referrers of " + subject,
          subject,
          Reason.FOREIGN_LINK,
          "Link: "
              + link
              + " (pages are followed on "
              + origin
              + " and "
              + apiPath(repo, subject)
              + " only)");
      return null;
    }
    return target.getRawPath() + (target.getRawQuery() == null ? "" : "?" + target.getRawQuery());
  }

  /**
   * The referrers tag schema: the index tagged {@code <alg>-<hex>}, fetched and verified as a tag.
   */
  private CompletableFuture<List<Claim>> fromTagSchema(RepositoryName repo, Digest subject) {
    return mirror
        .manifest(repo, schemaTag(subject), List.of())
        .handle(
            (m, err) -> {
              if (err != null) {
                Throwable cause = Futures.cause(err);
                if (cause instanceof RegistryException r && r.status() == 404) {
                  return List.of(); // no referrers
                }
                throw cause instanceof RuntimeException r ? r : new CompletionException(cause);
              }
              if (!MediaTypes.isIndex(m.mediaType())) {
                meters.refuse(
                    repo,
                    "referrers of " + subject,
                    subject,
                    Reason.INVALID_MANIFEST,
                    "tag " + schemaTag(subject) + " holds a " + m.mediaType() + ", not an index");
                return List.of();
              }
              return ManifestDocument.parse(m.body(), null).manifests().stream()
                  .limit(MAX_ENTRIES)
                  .map(d -> new Claim(d.mediaType(), d.digest(), d.size()))
                  .toList();
            });
  }

  static Tag schemaTag(Digest subject) {
    String hex = subject.hex();
    return new Tag(
        subject.toString().substring(0, subject.toString().indexOf(':'))
            + "-"
            + hex.substring(0, Math.min(64, hex.length())));
  }

  private CompletableFuture<Referrers> verifyAll(
      RepositoryName repo, Digest subject, List<Claim> claims) {
    Map<Digest, Claim> unique = new LinkedHashMap<>();
    claims.forEach(c -> unique.putIfAbsent(c.digest(), c));
    List<CompletableFuture<Referrer>> checks =
        unique.values().stream().map(c -> verify(repo, subject, c)).toList();
    return CompletableFuture.allOf(checks.toArray(CompletableFuture[]::new))
        .thenApply(
            v ->
                new Referrers(
                    subject,
                    checks.stream().map(CompletableFuture::join).filter(Objects::nonNull).toList(),
                    false));
  }

  /** The verified entry for {@code c}, or null when it was a lie (recorded as a refusal). */
  private CompletableFuture<Referrer> verify(RepositoryName repo, Digest subject, Claim c) {
    return mirror
        .manifest(repo, c.digest(), List.of())
        .handle(
            (m, err) -> {
              if (err == null) {
                return checked(repo, subject, c, m);
              }
              Throwable cause = Futures.cause(err);
              if (cause instanceof VerificationException) {
                return null; // refused and recorded where it was found
              }
              if (cause instanceof RegistryException r && r.status() == 404) {
                meters.refuse(
                    repo,
                    "referrers of " + subject,
                    subject,
                    Reason.NOT_FOUND,
                    "listed referrer " + c.digest() + " is not there");
                return null;
              }
              throw cause instanceof RuntimeException r ? r : new CompletionException(cause);
            });
  }

  private @Nullable Referrer checked(RepositoryName repo, Digest subject, Claim c, Manifest m) {
    String asked = "referrers of " + subject;
    if (m.body().length != c.size()) {
      meters.refuse(
          repo,
          asked,
          subject,
          Reason.SIZE_MISMATCH,
          "listed referrer "
              + c.digest()
              + " claimed "
              + c.size()
              + " bytes, has "
              + m.body().length);
      return null;
    }
    JsonNode root;
    try {
      root = JSON.readTree(m.body());
    } catch (IOException e) {
      return null; // cannot happen: the manifest path checked it is JSON
    }
    String claimed = root.path("subject").path("digest").asText(null);
    if (!subject.toString().equals(claimed)) {
      meters.refuse(
          repo,
          asked,
          subject,
          Reason.SUBJECT_MISMATCH,
          "listed referrer " + c.digest() + " has subject " + claimed);
      return null;
    }
    String artifactType =
        root.path("artifactType").isTextual() ? root.path("artifactType").asText() : null;
    if (artifactType == null
        && !MediaTypes.isIndex(m.mediaType())
        && root.path("config").path("mediaType").isTextual()) {
      artifactType =
          root.path("config").path("mediaType").asText(); // the spec's rule for image manifests
    }
    Map<String, String> annotations = new TreeMap<>();
    root.path("annotations")
        .fields()
        .forEachRemaining(
            e -> {
              if (e.getValue().isTextual()) {
                annotations.put(e.getKey(), e.getValue().asText());
              }
            });
    return new Referrer(m.mediaType(), c.digest(), m.body().length, artifactType, annotations);
  }
}
