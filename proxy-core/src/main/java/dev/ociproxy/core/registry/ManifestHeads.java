package dev.ociproxy.core.registry;

import dev.ociproxy.core.cache.TagIndex;
import dev.ociproxy.core.oci.Reference;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.upstream.UpstreamClient;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Answers a client's {@code HEAD} of a manifest: a fresh tag from memory, a stale one with one
 * upstream HEAD and never a GET (a moved tag is answered with the upstream's claim, which the
 * client verifies when it GETs the digest); anything else as a GET would be, and so is a stale tag
 * another replica owns: that owner is asked, and the manifest it names is verified here.
 * Thread-safe.
 */
final class ManifestHeads {
  private final ManifestFetcher manifests;
  private final UpstreamClient client;
  private final TagIndex tags;
  private final FetchLimiter limiter;
  private final RegistryMeters meters;

  ManifestHeads(
      ManifestFetcher manifests,
      UpstreamClient client,
      TagIndex tags,
      FetchLimiter limiter,
      RegistryMeters meters) {
    this.meters = meters;
    this.manifests = manifests;
    this.client = client;
    this.tags = tags;
    this.limiter = limiter;
  }

  CompletableFuture<ManifestHead> head(RepositoryName repo, Reference ref, List<String> accept) {
    TagIndex.Entry known = ref instanceof Tag t ? tags.get(repo, t) : null;
    Manifest cached = manifests.verifiedFor(known, accept);
    if (known == null
        || cached == null
        || manifests.isFresh((Tag) ref, known)
        || manifests.ownedElsewhere(repo, (Tag) ref)) {
      return manifests.manifest(repo, ref, accept).thenApply(ManifestHead::of);
    }
    return revalidate(repo, (Tag) ref, accept, known, cached);
  }

  /** Asks the upstream what a stale tag names now, with a HEAD, instead of fetching it again. */
  private CompletableFuture<ManifestHead> revalidate(
      RepositoryName repo, Tag tag, List<String> accept, TagIndex.Entry known, Manifest cached) {
    return limiter
        .run(
            () -> {
              meters.tagRevalidation("upstream");
              return TagHead.ask(client, tags, repo, tag, ManifestFetcher.ask(accept));
            })
        .thenApply(
            claim -> {
              if (known.digest().equals(claim.digest())) {
                tags.put(repo, tag, TagHead.refreshed(known));
                return ManifestHead.of(cached);
              }
              ManifestHead claimed = claim.asHead();
              if (claimed == null) { // nothing to answer with but what we verified, marked stale
                Manifest stale = manifests.cachedManifest(known.digest(), true);
                return ManifestHead.of(stale != null ? stale : cached);
              }
              return claimed;
            })
        .exceptionallyCompose(
            err -> manifests.staleOr(err, repo, tag, known).thenApply(ManifestHead::of));
  }
}
