package dev.ociproxy.core.registry;

import dev.ociproxy.core.concurrent.Futures;
import dev.ociproxy.core.concurrent.SingleFlight;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.registry.Referrers.Referrer;
import dev.ociproxy.core.upstream.UpstreamClient;
import dev.ociproxy.core.verify.ManifestCheck;
import dev.ociproxy.core.verify.VerificationException;
import dev.ociproxy.core.verify.VerificationException.Reason;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.jspecify.annotations.Nullable;

/**
 * The referrers of a digest, as only a verifying proxy can list them: the upstream's list (read by
 * {@link ReferrerListing}) is a claim; each listed manifest is fetched by digest through the
 * verifying path and listed only if its size is the listed one and its {@code subject} is the
 * digest asked. What is listed is recomputed from the manifest, never copied. Lies are dropped and
 * recorded as refusals. A verified list is kept like a tag, in a {@link ReferrersStore} (so across
 * restarts): fresh as long as the freshness rules say for its {@code sha256-<hex>} tag, served
 * stale when the upstream is in trouble. Concurrent requests for one list share one fetch.
 */
final class ReferrersFetcher {

  private final PullThrough mirror;
  private final RegistryMeters meters;
  private final ReferrerListing listing;
  private final Freshness freshness;
  private final ReferrersStore saved;
  private final SingleFlight<String, Referrers> fetches;

  ReferrersFetcher(
      PullThrough mirror,
      RegistryMeters meters,
      UpstreamClient client,
      FetchLimiter limiter,
      MirrorOptions options,
      ReferrersStore saved) {
    this.mirror = mirror;
    this.meters = meters;
    this.listing = new ReferrerListing(mirror, meters, client, limiter);
    this.freshness = new Freshness(options.freshness(), options.tagTtl());
    this.saved = saved;
    this.fetches = new SingleFlight<>(r -> true, () -> meters.coalesced("referrers"));
  }

  CompletableFuture<Referrers> referrers(RepositoryName repo, Digest subject) {
    ReferrersStore.Entry held = saved.get(repo, subject);
    // Fresh as the tag-schema tag would be: the freshness rules for sha256-<hex> (default 1
    // minute).
    if (held != null
        && freshness.isFresh(ReferrerListing.schemaTag(subject), held.verifiedAtMillis())) {
      return CompletableFuture.completedFuture(held.referrers());
    }
    return fetches.run(repo.value() + "@" + subject, () -> fetch(repo, subject, held));
  }

  private CompletableFuture<Referrers> fetch(
      RepositoryName repo, Digest subject, ReferrersStore.@Nullable Entry held) {
    return listing
        .listed(repo, subject)
        .thenCompose(
            listed ->
                verifyAll(repo, subject, listed.claims())
                    .thenApply(r -> listed.stale() ? r.asStale() : r))
        .handle(
            (fresh, err) -> {
              if (err == null && fresh.stale()) {
                // Listed from a stale tag: the upstream failed. Not stored, so not made fresh.
                meters.staleServed();
                return held != null ? held.referrers().asStale() : fresh;
              }
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

  private CompletableFuture<Referrers> verifyAll(
      RepositoryName repo, Digest subject, List<ReferrerListing.Claim> claims) {
    Map<Digest, ReferrerListing.Claim> unique = new LinkedHashMap<>();
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
  private CompletableFuture<Referrer> verify(
      RepositoryName repo, Digest subject, ReferrerListing.Claim c) {
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

  private @Nullable Referrer checked(
      RepositoryName repo, Digest subject, ReferrerListing.Claim c, Manifest m) {
    try {
      ManifestCheck.listedSize(subject, "listed referrer " + c.digest(), c.size(), m.body());
      return Referrers.referrer(subject, c.digest(), m.mediaType(), m.body());
    } catch (VerificationException v) {
      meters.refused(repo, "referrers of " + subject, v);
      return null;
    }
  }
}
