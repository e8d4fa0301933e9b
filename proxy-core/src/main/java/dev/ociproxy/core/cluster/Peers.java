package dev.ociproxy.core.cluster;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.upstream.UpstreamResponse;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/** The other replicas, as a cold blob's fetch sees them: the owner of its digest may have it. */
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
}
