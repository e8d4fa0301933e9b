package dev.ociproxy.core.airgap;

import dev.ociproxy.core.cache.TagIndex;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.Reference;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.registry.BlobSource;
import dev.ociproxy.core.registry.Manifest;
import dev.ociproxy.core.registry.PullThrough;
import dev.ociproxy.core.registry.Referrers;
import dev.ociproxy.core.registry.Registry;
import dev.ociproxy.core.registry.TagList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * An offline upstream ({@code offline: [name]}): serves what the cache holds for it, whatever its
 * age, and answers everything else with a 404 saying the upstream is offline. Only the {@code
 * cached…} reads of the pull-through it stands in for are used, so the upstream is never contacted.
 * Content held for another repository is not served here: that needs the upstream's word.
 */
public final class CachedOnly implements Registry {
  private final PullThrough held;

  public CachedOnly(PullThrough held) {
    this.held = held;
  }

  @Override
  public String name() {
    return held.name();
  }

  @Override
  public CompletableFuture<Manifest> manifest(
      RepositoryName repo, Reference ref, List<String> accept) {
    if (ref instanceof Tag tag) {
      TagIndex.Entry known = held.cachedTag(repo, tag);
      Manifest cached = known == null ? null : held.cachedManifest(known.digest());
      return orOffline(cached, OciErrorCode.MANIFEST_UNKNOWN, "manifest " + repo + ":" + tag);
    }
    Digest d = (Digest) ref;
    Manifest cached = held.linked(repo, d) ? held.cachedManifest(d) : null;
    return orOffline(cached, OciErrorCode.MANIFEST_UNKNOWN, "manifest " + repo + "@" + d);
  }

  @Override
  public CompletableFuture<BlobSource> blob(RepositoryName repo, Digest digest) {
    BlobSource cached = held.linked(repo, digest) ? held.cachedBlob(digest) : null;
    return orOffline(cached, OciErrorCode.BLOB_UNKNOWN, "blob " + digest);
  }

  @Override
  public CompletableFuture<Long> blobSize(RepositoryName repo, Digest digest) {
    long size = held.linked(repo, digest) ? held.store().blobSize(digest) : -1;
    return orOffline(size >= 0 ? size : null, OciErrorCode.BLOB_UNKNOWN, "blob " + digest);
  }

  @Override
  public CompletableFuture<TagList> tagList(RepositoryName repo, String query) {
    return CompletableFuture.completedFuture(TagList.of(repo, tags(repo)));
  }

  @Override
  public CompletableFuture<Referrers> referrers(RepositoryName repo, Digest subject) {
    Referrers held = this.held.cachedReferrers(repo, subject);
    return orOffline(
        held, OciErrorCode.MANIFEST_UNKNOWN, "the referrers of " + repo + "@" + subject);
  }

  /** The tags verified before, in name order. */
  List<String> tags(RepositoryName repo) {
    return held.cachedTags(repo);
  }

  private <T> CompletableFuture<T> orOffline(@Nullable T cached, OciErrorCode code, String what) {
    return cached != null
        ? CompletableFuture.completedFuture(cached)
        : CompletableFuture.failedFuture(
            new RegistryException(
                code,
                404,
                what
                    + " is not in the cache, and upstream "
                    + name()
                    + " is offline (never contacted)"));
  }
}
