package dev.ociproxy.core.registry;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.Reference;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import java.util.List;

/**
 * What one {@link Mirror} may do beyond plain pull-through caching: stay offline, answer pinned tags
 * with their pinned digest, and refuse content no pin reaches. {@link Mirror} consults it before the
 * store or the upstream, so a refused request never causes a fetch.
 *
 * <p>Lives here rather than in {@code core.airgap} so that the registry package does not depend on
 * the air-gap package (which depends on it). Implementations are called on event loops: they must be
 * thread-safe and must not block on the network.
 */
public interface MirrorGate {
  /** The gate of a mirror with no air-gap configuration: everything passes. */
  MirrorGate OPEN = new MirrorGate() {};

  /** True when the upstream must never be contacted; only cached content is served. */
  default boolean offline() {
    return false;
  }

  /** The digest {@code repo:tag} is pinned to, or null when the tag is not pinned. */
  default Digest pin(RepositoryName repo, Tag tag) {
    return null;
  }

  /** Null when {@code ref} may be served; otherwise the error to answer with (never fetched). */
  default RegistryException deny(RepositoryName repo, Reference ref) {
    return null;
  }

  /**
   * Called when a pinned tag was answered with its pin while online; the gate may look at the
   * upstream's tag in the background to report drift. Must return at once.
   */
  default void pinServed(Mirror mirror, RepositoryName repo, Tag tag, Digest pin) {}

  /**
   * The tags to list for {@code repo} instead of asking the upstream, or null to ask the upstream.
   * Offline and pinned-only mirrors answer from what they hold.
   */
  default List<String> localTags(RepositoryName repo) {
    return null;
  }
}
