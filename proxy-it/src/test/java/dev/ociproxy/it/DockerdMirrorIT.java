package dev.ociproxy.it;

import static dev.ociproxy.it.ClientRig.HOSTILE;
import static dev.ociproxy.it.ClientRig.PRIVATE;
import static dev.ociproxy.it.ClientRig.READER;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ociproxy.it.support.Availability;
import dev.ociproxy.it.support.CommandResult;
import dev.ociproxy.it.support.Dockerd;
import dev.ociproxy.it.support.OciImage;
import dev.ociproxy.it.support.Platform;
import dev.ociproxy.it.support.ProxyProcess;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Tag;

/**
 * Docker Engine 20.10 pulls Docker Hub names ({@code docker pull it/tag:v1}) through the proxy as
 * its {@code registry-mirrors} entry, which reaches the proxy's default upstream, here called
 * {@code docker.io}, without any upstream in the path; a tag is resolved with HEAD, then the
 * manifest is fetched by digest: the {@link ClientScenarios}.
 *
 * <p>A mirror serves only one upstream for dockerd, so the token-auth and lying upstreams sit
 * behind proxies of their own, and the client switches dockerd's mirror with a configuration
 * reload.
 */
@Tag("container-runtime")
class DockerdMirrorIT extends ClientScenarios {
  private static final String HUB = "docker.io";

  @Override
  Availability clientAvailability() {
    return Dockerd.availability();
  }

  @Override
  String openUpstream() {
    return HUB;
  }

  @Override
  PullingClient startClient(ClientRig rig) {
    // One attempt per layer: a lying upstream fails the pull at once, not after 5 retries and 75 s
    // of back-off.
    return new DockerdClient(
        rig,
        Dockerd.start(
            List.of(rig.proxy.url()), List.of(), cfg -> cfg.put("max-download-attempts", 1)));
  }

  private record DockerdClient(ClientRig rig, Dockerd dockerd) implements PullingClient {

    @Override
    public String ref(String upstream, String repoAndRef) {
      return repoAndRef;
    }

    @Override
    public Optional<ProxyProcess> ownProxyFor(String upstream) {
      Optional<ProxyProcess> own =
          switch (upstream) {
            case HUB -> Optional.empty();
            case PRIVATE -> Optional.of(hubProxy("http://127.0.0.1:" + rig.privatePort, true));
            case HOSTILE -> Optional.of(hubProxy(rig.hostile.url(), false));
            default -> throw new IllegalArgumentException("upstream: " + upstream);
          };
      dockerd.registryMirrors(List.of(own.orElse(rig.proxy).url()));
      return own;
    }

    /** Another proxy whose only (so default) upstream is {@code url}, called {@code docker.io}. */
    private static ProxyProcess hubProxy(String url, boolean asReader) {
      ProxyProcess.Builder b = ProxyProcess.builder();
      if (asReader) {
        // The private registry's token server is on its host but another port: a realm the proxy
        // uses only when listed.
        b.upstream(HUB, url, READER).upstreamYaml("trustedRealmHosts: [\"127.0.0.1\"]\n");
      } else {
        b.upstream(HUB, url);
      }
      return b.start();
    }

    @Override
    public List<String> tagPullRequests(
        String upstream, String repo, String tag, String manifestDigest) {
      return List.of(
          "HEAD /v2/" + repo + "/manifests/" + tag + " 200",
          "GET /v2/" + repo + "/manifests/" + manifestDigest + " 200");
    }

    @Override
    public List<Platforms> multiArchPulls() {
      return List.of(Platforms.only(Platform.LINUX_ARM64), Platforms.DEFAULT);
    }

    @Override
    public CommandResult tryPull(String ref, Platforms which) {
      if (which.all()) {
        throw new IllegalArgumentException("dockerd pulls one platform");
      }
      return which.only() == null
          ? dockerd.docker("pull", ref)
          : dockerd.docker("pull", "--platform", which.only().toString(), ref);
    }

    /**
     * The digest the name resolved to (the index for a multi-arch image) as repo digest, the config
     * digest as image ID and the layers' diff IDs.
     */
    @Override
    public void assertStored(String ref, OciImage image, Platforms which) {
      OciImage.PlatformImage pulled = which.of(image).get(0);
      JsonNode inspect = dockerd.inspect(ref);
      String name = ref.substring(0, ref.contains("@") ? ref.indexOf('@') : ref.lastIndexOf(':'));
      assertThat(dockerd.repoDigests(ref)).containsExactly(name + "@" + image.digest());
      assertThat(inspect.path("Id").asText()).isEqualTo(pulled.config().digest());
      List<String> diffIds = new ArrayList<>();
      inspect.path("RootFS").path("Layers").forEach(n -> diffIds.add(n.asText()));
      assertThat(diffIds).containsExactlyElementsOf(pulled.diffIds());
    }

    @Override
    public void assertKeptNothing(String ref, Set<String> digests) {
      assertThat(dockerd.docker("image", "ls", "-a", "-q").orThrow().stdout()).isBlank();
    }

    /** Removes every image (and so every layer). */
    @Override
    public void emptyStore() {
      String ids = dockerd.docker("image", "ls", "-a", "-q").orThrow().stdout().strip();
      if (!ids.isEmpty()) {
        List<String> args = new ArrayList<>(List.of("image", "rm", "-f"));
        args.addAll(List.of(ids.split("\\s+")));
        dockerd.docker(args.toArray(String[]::new)).orThrow();
      }
      assertThat(dockerd.docker("image", "ls", "-a", "-q").orThrow().stdout())
          .as("dockerd images")
          .isBlank();
    }

    @Override
    public void close() {
      dockerd.close();
    }
  }
}
