package dev.ociproxy.core.cluster;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.upstream.UpstreamResponse;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * The other replicas, as a cold blob's fetch and a stale tag's revalidation see them: the owner of
 * a digest may have the blob, the owner of a tag knows what it names now.
 */
public interface Peers {
  /** No cluster: every replica fetches from its upstreams itself. */
  Peers NONE = (upstream, repo, digest) -> null;

  /**
   * Asks the replica that owns {@code digest} for the blob, as {@code repo} of {@code upstream};
   * null when this replica owns it. The response is a claim like an upstream's: the caller verifies
   * it, and asks the upstream when the owner fails or does not answer 200.
   */
  @Nullable CompletableFuture<UpstreamResponse> askOwner(
      String upstream, RepositoryName repo, Digest digest);

  /**
   * The replica that owns {@code tag} of {@code repo} of {@code upstream} (rendezvous on {@link
   * Rendezvous#tagKey}), or null when this replica owns it or runs alone.
   */
  default @Nullable String tagOwner(String upstream, RepositoryName repo, Tag tag) {
    return null;
  }

  /**
   * Asks {@code owner} what {@code tag} names now for a client that accepts {@code accept}; a 200
   * carries a {@code PeerTag} record. Only a hint of which digest to fetch: the caller fetches and
   * verifies the manifest itself, and asks the upstream when the owner fails or does not answer.
   */
  default CompletableFuture<UpstreamResponse> askTag(
      String owner, String upstream, RepositoryName repo, Tag tag, List<String> accept) {
    return CompletableFuture.failedFuture(new IllegalStateException("no peers to ask"));
  }
}
