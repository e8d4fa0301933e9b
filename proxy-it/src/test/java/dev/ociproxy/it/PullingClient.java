package dev.ociproxy.it;

import dev.ociproxy.it.support.CommandResult;
import dev.ociproxy.it.support.OciImage;
import dev.ociproxy.it.support.Platform;
import dev.ociproxy.it.support.ProxyProcess;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * A real client (skopeo, podman, containerd, Docker Engine) as {@link ClientScenarios} drives it:
 * it pulls through the proxy into a store of its own, shows what it stored and starts again from an
 * empty store. One implementation per client IT; the scenarios are written once against this.
 */
interface PullingClient extends AutoCloseable {

  /** Which images of a multi-platform index one pull asks for. */
  record Platforms(boolean all, Platform only) {
    /** The client's default: its own platform, linux/amd64 on these machines. */
    static final Platforms DEFAULT = new Platforms(false, null);

    /** Every platform of the index (skopeo {@code --all}, ctr {@code --all-platforms}). */
    static final Platforms ALL = new Platforms(true, null);

    static Platforms only(Platform platform) {
      return new Platforms(false, platform);
    }

    /** The platform images of {@code image} a pull with this choice stores. */
    List<OciImage.PlatformImage> of(OciImage image) {
      if (all) {
        return image.images();
      }
      if (only != null) {
        return List.of(image.image(only));
      }
      return List.of(image.isIndex() ? image.image(Platform.LINUX_AMD64) : image.image());
    }
  }

  /**
   * The reference this client pulls {@code repoAndRef} ({@code repo:tag} or {@code repo@digest}) of
   * the upstream the proxy knows as {@code upstream} by: by default the upstream's name before the
   * repository, as a registry-qualified image name.
   */
  default String ref(String upstream, String repoAndRef) {
    return upstream + "/" + repoAndRef;
  }

  /**
   * Points the client at a proxy of its own for {@code upstream} and returns it (the caller closes
   * it), or returns empty when the client reaches every upstream through the rig's proxy. Docker
   * Engine's mirror reaches only a proxy's default upstream, so it needs one per upstream.
   */
  default Optional<ProxyProcess> ownProxyFor(String upstream) {
    return Optional.empty();
  }

  /**
   * The access-log lines ({@code "METHOD uri status"}) of this client's pull of {@code repo:tag}.
   */
  List<String> tagPullRequests(String upstream, String repo, String tag, String manifestDigest);

  /**
   * The pulls the multi-arch scenario makes, one per fresh store; the first is repeated with the
   * upstream down.
   */
  List<Platforms> multiArchPulls();

  /** Pulls {@code ref}; fails with the client's output if the pull fails. */
  default void pull(String ref, Platforms which) {
    tryPull(ref, which).orThrow();
  }

  /** Pulls {@code ref} and returns the result whether or not the pull succeeded. */
  CommandResult tryPull(String ref, Platforms which);

  /**
   * Asserts that the client stored exactly {@code which} of {@code image} under {@code ref}, with
   * the upstream's digests.
   */
  void assertStored(String ref, OciImage image, Platforms which);

  /**
   * Asserts that a failed pull of {@code ref} left no image under it and none of {@code digests}.
   */
  void assertKeptNothing(String ref, Set<String> digests);

  /** Forgets every image: the next pull starts from an empty store. */
  void emptyStore();

  @Override
  void close();
}
