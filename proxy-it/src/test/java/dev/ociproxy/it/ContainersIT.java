package dev.ociproxy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ociproxy.it.support.Availability;
import dev.ociproxy.it.support.Dockerd;
import dev.ociproxy.it.support.HarnessDockerStrategy;
import dev.ociproxy.it.support.LocalImages;
import dev.ociproxy.it.support.OciImage;
import dev.ociproxy.it.support.OciImages;
import dev.ociproxy.it.support.Ports;
import dev.ociproxy.it.support.ProcessGuard;
import dev.ociproxy.it.support.ProxyProcess;
import dev.ociproxy.it.support.Skopeo;
import dev.ociproxy.it.support.UpstreamRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.images.builder.Transferable;

/**
 * Testcontainers against the harness's own dockerd: the upstream registry and the proxy run as
 * containers built here ({@link LocalImages}: {@code FROM scratch} plus the host's binaries), in
 * the host's network namespace, since the private daemon has no bridge.
 *
 * <p>Skips with the reason when no Docker engine is reachable. The mirror test needs the harness's
 * daemon itself (dockerd pulls through a proxy that runs in that same dockerd).
 */
@Tag("container-runtime")
@ExtendWith(ProcessGuard.class)
class ContainersIT {
  private static final Duration STARTUP = Duration.ofMinutes(2);

  static Dockerd dockerd;
  static String registryImage;
  static String proxyImage;

  @TempDir Path tmp;

  @BeforeAll
  static void start() {
    UpstreamRegistry.availability()
        .and(Skopeo.availability())
        .and(ProxyProcess.availability())
        .and(LocalImages.availability())
        .assumeAvailable();
    Availability harness = Dockerd.availability();
    if (harness.available()) {
      dockerd = Dockerd.start(List.of(), List.of());
      HarnessDockerStrategy.use(dockerd);
    }
    assumeTrue(
        DockerClientFactory.instance().isDockerAvailable(),
        "no Docker engine reachable: the harness's dockerd is unavailable ("
            + harness.reason()
            + ") and Testcontainers found no other engine");
    registryImage = LocalImages.registry().get();
    proxyImage = LocalImages.proxy(Path.of(System.getProperty("proxy.jar"))).get();
  }

  @AfterAll
  static void stop() {
    if (dockerd != null) {
      dockerd.close();
    }
  }

  private static GenericContainer<?> registryContainer(int port) {
    return new GenericContainer<>(registryImage)
        .withNetworkMode("host")
        .withEnv("REGISTRY_HTTP_ADDR", "127.0.0.1:" + port)
        .withTmpFs(Map.of("/var/lib/registry", "rw"))
        .waitingFor(
            Wait.forLogMessage(".*listening on 127\\.0\\.0\\.1:" + port + ".*", 1)
                .withStartupTimeout(STARTUP));
  }

  @Test
  void registryContainer_asTheUpstream_isCopiedThroughTheProxyJar_andFromItsCacheWhenStopped()
      throws Exception {
    int port = Ports.free();
    OciImage image = OciImages.singleArch(tmp.resolve("layout"), "v1", 200_000, 10_000);
    try (GenericContainer<?> registry = registryContainer(port)) {
      registry.start();
      Skopeo.push(image, "127.0.0.1:" + port, "tc/hello:v1", null);
      try (ProxyProcess proxy =
          ProxyProcess.builder()
              .upstream("registry.example.com", "http://127.0.0.1:" + port)
              .start()) {
        String ref = proxy.hostPort() + "/registry.example.com/tc/hello:v1";

        Skopeo.DirImage online = Skopeo.copyToDir(ref, tmp.resolve("online"), null, false);
        registry.stop();
        Skopeo.DirImage offline = Skopeo.copyToDir(ref, tmp.resolve("offline"), null, false);

        assertThat(online.storedDigests())
            .containsExactlyInAnyOrderElementsOf(image.image().allDigests());
        assertThat(offline.storedDigests())
            .containsExactlyInAnyOrderElementsOf(image.image().allDigests());
      }
    }
  }

  @Test
  void proxyContainer_isTheRegistryMirrorOfTheDockerdItRunsIn_andServesWithTheUpstreamDown()
      throws Exception {
    assumeTrue(
        dockerd != null,
        "needs the harness's dockerd, whose registry-mirrors name the proxy container");
    OciImage image = OciImages.singleArch(tmp.resolve("layout"), "v1", 200_000, 10_000);
    int mirrorPort = Ports.free();
    try (UpstreamRegistry upstream = UpstreamRegistry.startOpen();
        GenericContainer<?> proxy =
            new GenericContainer<>(proxyImage)
                .withNetworkMode("host")
                .withTmpFs(Map.of("/tmp", "rw", "/var/cache/registry-proxy", "rw"))
                .withCopyToContainer(
                    Transferable.of(
                        "listen: \"127.0.0.1:"
                            + mirrorPort
                            + "\"\n"
                            + "cache:\n  dir: \"/var/cache/registry-proxy\"\n"
                            + "upstreams:\n  - name: \"docker.io\"\n    url: \""
                            + upstream.url()
                            + "\"\n    default: true\n"
                            + "startupWarmUp: \"0s\"\n"),
                    LocalImages.PROXY_CONFIG)
                .waitingFor(
                    Wait.forLogMessage(".*registry proxy listening on.*", 1)
                        .withStartupTimeout(STARTUP))) {
      Skopeo.push(image, upstream, "test/hello:v1");
      proxy.start();
      dockerd.registryMirrors(List.of("http://127.0.0.1:" + mirrorPort));

      dockerd.pull("test/hello:v1");
      JsonNode online = dockerd.inspect("test/hello:v1");
      dockerd.docker("image", "rm", "test/hello:v1").orThrow();
      upstream.stop();
      dockerd.pull("test/hello:v1");
      JsonNode offline = dockerd.inspect("test/hello:v1");

      for (JsonNode stored : List.of(online, offline)) {
        assertThat(stored.path("Id").asText()).isEqualTo(image.image().config().digest());
        assertThat(stored.path("RepoDigests").path(0).asText())
            .isEqualTo("test/hello@" + image.manifestDigest());
        List<String> diffIds = new ArrayList<>();
        stored.path("RootFS").path("Layers").forEach(n -> diffIds.add(n.asText()));
        assertThat(diffIds).containsExactlyElementsOf(image.image().diffIds());
      }
      assertThat(proxy.getLogs())
          .contains("GET /v2/test/hello/manifests/" + image.manifestDigest() + " 200");
    }
  }
}
