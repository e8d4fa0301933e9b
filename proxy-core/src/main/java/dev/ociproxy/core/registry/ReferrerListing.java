package dev.ociproxy.core.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ociproxy.core.concurrent.Futures;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.ManifestDocument;
import dev.ociproxy.core.oci.MediaTypes;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.upstream.UpstreamClient;
import dev.ociproxy.core.verify.VerificationException.Reason;
import io.netty.handler.codec.http.HttpMethod;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.jspecify.annotations.Nullable;

/**
 * What an upstream claims are the referrers of a digest, read within bounds: its referrers API
 * (following {@code Link} pages only on its own origin and the same path), or, when it has none,
 * the index tagged {@code <alg>-<hex>} by the referrers tag schema. Nothing here is trusted yet:
 * {@link ReferrersFetcher} checks every claim. Remembers per upstream that the API is missing.
 * Thread-safe.
 */
final class ReferrerListing {
  /** Pages of an upstream's list followed at most; a list that goes on is cut here. */
  static final int MAX_PAGES = 10;

  /** Referrers listed at most per digest. */
  static final int MAX_ENTRIES = 1000;

  /** Bytes read at most per page. */
  static final long MAX_PAGE_BYTES = 4L * 1024 * 1024;

  /** How long an upstream without the API is not asked for it again. */
  private static final Duration API_RECHECK = Duration.ofMinutes(10);

  private static final ObjectMapper JSON = new ObjectMapper();

  /** A listed descriptor: what the upstream claims, to be checked. */
  record Claim(String mediaType, Digest digest, long size) {}

  /**
   * What the upstream listed; {@code stale} when it could not be asked and the tag schema's index
   * came from the last verified tag mapping instead.
   */
  record Listed(List<Claim> claims, boolean stale) {}

  private final PullThrough mirror;
  private final RegistryMeters meters;
  private final UpstreamClient client;
  private final FetchLimiter limiter;

  /** System.nanoTime until which the upstream is taken to lack the API; null when it has it. */
  private volatile @Nullable Long apiMissingUntil;

  ReferrerListing(
      PullThrough mirror, RegistryMeters meters, UpstreamClient client, FetchLimiter limiter) {
    this.mirror = mirror;
    this.meters = meters;
    this.client = client;
    this.limiter = limiter;
  }

  /** The upstream's claims about the referrers of {@code subject}, within the bounds. */
  CompletableFuture<Listed> listed(RepositoryName repo, Digest subject) {
    Long missing = apiMissingUntil;
    if (missing != null && System.nanoTime() - missing < 0) {
      return fromTagSchema(repo, subject);
    }
    return page(repo, subject, apiPath(repo, subject), new ArrayList<>(), 1);
  }

  private static String apiPath(RepositoryName repo, Digest subject) {
    return PullThrough.v2(repo, "referrers", subject.toString());
  }

  private CompletableFuture<Listed> page(
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
                          return CompletableFuture.completedFuture(new Listed(claims, false));
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
                          return CompletableFuture.completedFuture(new Listed(claims, false));
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
  private CompletableFuture<Listed> fromTagSchema(RepositoryName repo, Digest subject) {
    return mirror
        .manifest(repo, schemaTag(subject), List.of())
        .handle(
            (m, err) -> {
              if (err != null) {
                Throwable cause = Futures.cause(err);
                if (cause instanceof RegistryException r && r.status() == 404) {
                  return new Listed(List.of(), false); // no referrers
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
                return new Listed(List.of(), m.stale());
              }
              return new Listed(
                  ManifestDocument.parse(m.body(), null).manifests().stream()
                      .limit(MAX_ENTRIES)
                      .map(d -> new Claim(d.mediaType(), d.digest(), d.size()))
                      .toList(),
                  m.stale());
            });
  }

  static Tag schemaTag(Digest subject) {
    String hex = subject.hex();
    return new Tag(
        subject.toString().substring(0, subject.toString().indexOf(':'))
            + "-"
            + hex.substring(0, Math.min(64, hex.length())));
  }
}
