package dev.ociproxy.core.registry;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.Reference;
import dev.ociproxy.core.oci.RepositoryName;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * What the proxy serves for one upstream: manifests, blobs and tag lists, each verified or refused.
 * The pull-through cache implements it, and the air-gap's offline and pinned views implement it
 * too, wrapping another {@code Registry} (as distribution's proxy implements the very interface it
 * wraps), so the HTTP layer, warm and the commands never know which composition they hold.
 *
 * <p>Failures are {@link dev.ociproxy.core.oci.RegistryException}s carrying the status and error
 * code the client sees. Implementations are called on event loops: thread-safe, never blocking on
 * the network.
 *
 * <p>The referrers API ({@code GET /v2/<name>/referrers/<digest>}) is {@link #referrers}: answered
 * by the pull-through from the upstream, verified entry by entry, and by the air-gap's views from
 * what is held.
 */
public interface Registry {
  /** The upstream's configured name, as metrics, logs and pins spell it. */
  String name();

  /** A manifest by tag or digest; {@code accept} is the client's Accept list (empty: any type). */
  CompletableFuture<Manifest> manifest(RepositoryName repo, Reference ref, List<String> accept);

  /**
   * What a {@code HEAD} of the manifest answers. A fresh tag costs the upstream nothing and a stale
   * one at most an upstream {@code HEAD} (never a GET, which rate-limited upstreams count); this
   * default answers from {@link #manifest} for views that never ask the upstream anyway.
   */
  default CompletableFuture<ManifestHead> manifestHead(
      RepositoryName repo, Reference ref, List<String> accept) {
    return manifest(repo, ref, accept).thenApply(ManifestHead::of);
  }

  /** A blob from the store, or a (possibly shared) download that readers tail. */
  CompletableFuture<BlobSource> blob(RepositoryName repo, Digest digest);

  /**
   * The answer to a client's whole {@code GET} of a blob: as {@link #blob}, or a {@link
   * BlobSource.Redirect} to the shared store's copy where redirects are on ({@code
   * storage.s3.redirect}). A view applies the rules it applies to {@link #blob} before asking the
   * view below; this default never redirects, so a view that does not override it costs the
   * redirect, never a rule.
   */
  default CompletableFuture<BlobSource> blobOrRedirect(RepositoryName repo, Digest digest) {
    return blob(repo, digest);
  }

  /** A blob's size without its bytes, for {@code HEAD}. */
  CompletableFuture<Long> blobSize(RepositoryName repo, Digest digest);

  /** One page of the repository's tags; {@code query} is the client's {@code n}/{@code last}. */
  CompletableFuture<TagList> tagList(RepositoryName repo, String query);

  /** The verified referrers of {@code subject} (all artifact types; the caller filters). */
  CompletableFuture<Referrers> referrers(RepositoryName repo, Digest subject);
}
