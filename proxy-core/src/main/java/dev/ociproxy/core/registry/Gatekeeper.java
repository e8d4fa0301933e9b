package dev.ociproxy.core.registry;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ociproxy.core.cache.TagIndex;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.Reference;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Applies a {@link MirrorGate} at the entry of each {@link Mirror} read. Each method returns null
 * when the request should take the mirror's normal path, or the gated answer. Kept apart from
 * {@link Mirror} so the pull-through logic stays readable.
 */
final class Gatekeeper {
  private static final ObjectMapper JSON = new ObjectMapper();

  private Gatekeeper() {}

  static CompletableFuture<Manifest> manifest(
      Mirror m, MirrorGate g, RepositoryName repo, Reference ref, List<String> accept) {
    RegistryException denied = g.deny(repo, ref);
    if (denied != null) {
      return CompletableFuture.failedFuture(denied);
    }
    if (ref instanceof Tag tag) {
      Digest pin = g.pin(repo, tag);
      if (pin != null) {
        if (!g.offline()) {
          g.pinServed(m, repo, tag, pin);
        }
        // By digest, through the gate again: offline and verification rules apply to the pin too.
        return m.manifest(repo, pin, accept);
      }
      if (!g.offline()) {
        return null;
      }
      TagIndex.Entry known = m.tagIndex().get(repo, tag);
      Manifest cached = known == null ? null : m.cachedManifestOrNull(known.digest());
      return cached != null
          ? CompletableFuture.completedFuture(cached)
          : CompletableFuture.failedFuture(offline(m, OciErrorCode.MANIFEST_UNKNOWN, "manifest " + repo + ":" + tag));
    }
    if (!g.offline()) {
      return null;
    }
    Digest d = (Digest) ref;
    // Content held for another repository needs the upstream's word before it is served here.
    Manifest cached = m.linked(repo, d) ? m.cachedManifestOrNull(d) : null;
    return cached != null
        ? CompletableFuture.completedFuture(cached)
        : CompletableFuture.failedFuture(offline(m, OciErrorCode.MANIFEST_UNKNOWN, "manifest " + repo + "@" + d));
  }

  static CompletableFuture<BlobSource> blob(Mirror m, MirrorGate g, RepositoryName repo, Digest d) {
    RegistryException denied = g.deny(repo, d);
    if (denied != null) {
      return CompletableFuture.failedFuture(denied);
    }
    if (!g.offline()) {
      return null;
    }
    BlobSource.Cached cached = m.linked(repo, d) ? m.cachedBlob(d) : null;
    return cached != null
        ? CompletableFuture.completedFuture(cached)
        : CompletableFuture.failedFuture(offline(m, OciErrorCode.BLOB_UNKNOWN, "blob " + d));
  }

  static CompletableFuture<Long> blobSize(Mirror m, MirrorGate g, RepositoryName repo, Digest d) {
    RegistryException denied = g.deny(repo, d);
    if (denied != null) {
      return CompletableFuture.failedFuture(denied);
    }
    if (!g.offline()) {
      return null;
    }
    long size = m.linked(repo, d) ? m.store().blobSize(d) : -1;
    return size >= 0
        ? CompletableFuture.completedFuture(size)
        : CompletableFuture.failedFuture(offline(m, OciErrorCode.BLOB_UNKNOWN, "blob " + d));
  }

  static CompletableFuture<TagList> tagList(MirrorGate g, RepositoryName repo) {
    List<String> tags = g.localTags(repo);
    if (tags == null) {
      return null;
    }
    ObjectNode root = JSON.createObjectNode().put("name", repo.value());
    tags.forEach(root.putArray("tags")::add);
    try {
      return CompletableFuture.completedFuture(new TagList(JSON.writeValueAsBytes(root), null));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** The 404 an offline mirror answers for what it does not hold. */
  static RegistryException offline(Mirror m, OciErrorCode code, String what) {
    return new RegistryException(code, 404,
        what + " is not in the cache, and upstream " + m.name() + " is offline (never contacted)");
  }
}
