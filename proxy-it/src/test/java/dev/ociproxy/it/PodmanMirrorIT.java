package dev.ociproxy.it;

import static dev.ociproxy.it.ClientRig.HOSTILE;
import static dev.ociproxy.it.ClientRig.OPEN;
import static dev.ociproxy.it.ClientRig.PRIVATE;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ociproxy.it.support.Availability;
import dev.ociproxy.it.support.CommandResult;
import dev.ociproxy.it.support.OciImage;
import dev.ociproxy.it.support.Platform;
import dev.ociproxy.it.support.Podman;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Tag;

/**
 * podman 4.3 (the containers/image library CRI-O uses too) pulls through the proxy as a {@code
 * registries.conf} mirror of each upstream, {@code location = "<proxy>/<upstream>"}: the {@link
 * ClientScenarios}, each pull into a podman with fresh private storage.
 */
@Tag("container-runtime")
class PodmanMirrorIT extends ClientScenarios {

  @Override
  Availability clientAvailability() {
    return Podman.availability();
  }

  @Override
  PullingClient startClient(ClientRig rig) {
    return new PodmanClient(rig.proxy.hostPort());
  }

  /**
   * An empty store is a new podman with empty private storage whose registries.conf mirrors every
   * upstream.
   */
  private static final class PodmanClient implements PullingClient {
    private final String proxyHostPort;
    private Podman podman;

    PodmanClient(String proxyHostPort) {
      this.proxyHostPort = proxyHostPort;
    }

    @Override
    public List<String> tagPullRequests(
        String upstream, String repo, String tag, String manifestDigest) {
      return List.of("GET /v2/" + upstream + "/" + repo + "/manifests/" + tag + " 200");
    }

    @Override
    public List<Platforms> multiArchPulls() {
      return List.of(Platforms.only(Platform.LINUX_ARM64), Platforms.only(Platform.LINUX_AMD64));
    }

    @Override
    public CommandResult tryPull(String ref, Platforms which) {
      if (which.all()) {
        throw new IllegalArgumentException("podman pulls one platform");
      }
      return which.only() == null
          ? podman.tryPull(ref)
          : podman.tryPull(ref, "--arch", which.only().architecture());
    }

    /**
     * The digest the reference resolved to (the index for a multi-arch image), the platform
     * manifest among its repo digests, the config digest as image ID and the layers' diff IDs.
     */
    @Override
    public void assertStored(String ref, OciImage image, Platforms which) {
      OciImage.PlatformImage pulled = which.of(image).get(0);
      JsonNode inspect = podman.inspect(ref);
      String name = ref.substring(0, ref.contains("@") ? ref.indexOf('@') : ref.lastIndexOf(':'));
      assertThat(inspect.path("Digest").asText()).isEqualTo(image.digest());
      assertThat(podman.repoDigests(ref)).contains(name + "@" + pulled.manifest().digest());
      assertThat("sha256:" + inspect.path("Id").asText()).isEqualTo(pulled.config().digest());
      List<String> diffIds = new ArrayList<>();
      inspect.path("RootFS").path("Layers").forEach(n -> diffIds.add(n.asText()));
      assertThat(diffIds).containsExactlyElementsOf(pulled.diffIds());
    }

    @Override
    public void assertKeptNothing(String ref, Set<String> digests) {
      assertThat(podman.podman("images", "-q", "--all").orThrow().stdout()).isBlank();
    }

    @Override
    public void emptyStore() {
      close();
      podman = Podman.create();
      for (String registry : new String[] {OPEN, PRIVATE, HOSTILE}) {
        podman.mirror(registry, proxyHostPort + "/" + registry);
      }
    }

    @Override
    public void close() {
      if (podman != null) {
        podman.close();
      }
    }
  }
}
