package dev.ociproxy.it;

import static dev.ociproxy.it.ItFixtures.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.core.cluster.Rendezvous;
import dev.ociproxy.it.support.Containerd;
import dev.ociproxy.it.support.Http;
import dev.ociproxy.it.support.OciImage;
import dev.ociproxy.it.support.OciImages;
import dev.ociproxy.it.support.Ports;
import dev.ociproxy.it.support.ProcessGuard;
import dev.ociproxy.it.support.ProxyProcess;
import dev.ociproxy.it.support.Skopeo;
import dev.ociproxy.it.support.UpstreamRegistry;
import dev.ociproxy.testing.S3Server;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real clients spread over a fleet: three replicas of the real jar in one {@code cluster}, each
 * with its own local disk, sharing one bucket on a real S3 API (s3proxy), in front of Debian's
 * docker-registry holding a multi-arch image. skopeo copies every platform through replica A,
 * containerd pulls every platform through replica B; both store exactly the upstream's digests, and
 * the upstream serves each blob once for the whole fleet.
 */
@Tag("container-runtime")
@ExtendWith(ProcessGuard.class)
class ClusterClientsIT {
  private static final String BUCKET = "fleet-clients";
  private static final String UP = "real.test";
  private static final String REPO = "fleet/multi";
  private static final String SECRET = "it-cluster-secret-0123456789abcdef";

  private final List<ProxyProcess> replicas = new ArrayList<>();
  private final List<String> members = new ArrayList<>();
  private S3Server s3;
  private UpstreamRegistry registry;

  @BeforeEach
  void start() {
    ProxyProcess.availability().assumeAvailable();
    UpstreamRegistry.availability().assumeAvailable();
    Skopeo.availability().assumeAvailable();
    Containerd.availability().assumeAvailable();
    s3 = S3Server.start(BUCKET);
    registry = UpstreamRegistry.startOpen();
    for (int i = 0; i < 3; i++) {
      members.add("127.0.0.1:" + Ports.free());
    }
    for (String me : members) {
      replicas.add(replica(me));
    }
  }

  @AfterEach
  void stop() {
    replicas.forEach(ProxyProcess::close);
    if (registry != null) {
      registry.close();
    }
    if (s3 != null) {
      s3.close();
    }
  }

  private ProxyProcess replica(String me) {
    return ProxyProcess.builder()
        .port(Integer.parseInt(me.substring(me.indexOf(':') + 1)))
        .upstream(UP, registry.url())
        .env("CLUSTER_SECRET", SECRET)
        .extraYaml(
            "cluster:\n  peers: [\""
                + String.join("\", \"", members)
                + "\"]\n  advertise: \""
                + me
                + "\"\n  secret: \"${CLUSTER_SECRET}\"\n"
                + S3Server.storageYaml(s3.endpoint().toString(), BUCKET, "prefix: \"cache/\""))
        .start();
  }

  private static PrometheusText metrics(ProxyProcess p) {
    return PrometheusText.parse(new String(Http.tryGet(p.url() + "/metrics").orElseThrow().body()));
  }

  private double fleetFetches(String source) {
    return replicas.stream()
        .mapToDouble(p -> metrics(p).sum("registry_proxy_blob_fetches_total", "source", source))
        .sum();
  }

  @Test
  void skopeoThroughReplicaAAndContainerdThroughReplicaBPullAMultiArchImageTheUpstreamServedOnce(
      @TempDir Path tmp) throws Exception {
    for (ProxyProcess p : replicas) {
      await(
          p.hostPort() + " sees 3 healthy replicas",
          Duration.ofSeconds(30),
          () -> metrics(p).sum("registry_proxy_cluster_members", "state", "healthy") == 3);
    }
    OciImage image = OciImages.multiArch(tmp.resolve("layout"), "multi", 1_500_000, 200_000);
    Skopeo.push(image, registry, REPO + ":multi");
    ProxyProcess a = replicas.get(0);
    ProxyProcess b = replicas.get(1);

    Skopeo.DirImage copied =
        Skopeo.copyToDir(
            a.hostPort() + "/" + UP + "/" + REPO + ":multi", tmp.resolve("skopeo"), null, true);
    assertThat(copied.manifestDigest()).as("skopeo's index").isEqualTo(image.digest());
    assertThat(copied.storedDigests()).containsExactlyInAnyOrderElementsOf(image.allDigests());
    double afterSkopeo = fleetFetches("upstream");

    try (Containerd containerd = Containerd.start()) {
      containerd.mirror(UP, b.hostPort());
      String ref = UP + "/" + REPO + ":multi";
      containerd.pull(ref, "--all-platforms");
      Set<String> expected = new LinkedHashSet<>();
      image.index().ifPresent(i -> expected.add(i.digest()));
      image.images().forEach(i -> expected.addAll(i.allDigests()));
      assertThat(containerd.imageDigest(ref)).as("containerd's index").isEqualTo(image.digest());
      assertThat(containerd.contentDigests()).containsExactlyInAnyOrderElementsOf(expected);
    }

    Set<String> blobs = image.blobDigests();
    for (String d : blobs) {
      await("the registry logged its GET of " + d, Duration.ofSeconds(10), () -> blobGets(d) >= 1);
    }
    for (String d : blobs) {
      assertThat(blobGets(d)).as("upstream GETs of %s", d).isEqualTo(1);
    }
    assertThat(afterSkopeo).as("upstream fetches of the fleet for skopeo").isEqualTo(blobs.size());
    assertThat(fleetFetches("upstream"))
        .as("upstream fetches of the fleet after containerd too")
        .isEqualTo(blobs.size());
    List<String> owners = blobs.stream().map(d -> Rendezvous.owner(d, members)).toList();
    for (ProxyProcess p : replicas) {
      long owned = owners.stream().filter(p.hostPort()::equals).count();
      PrometheusText m = metrics(p);
      System.out.printf(
          "ClusterClientsIT: %s owns %d of %d blobs; fetches upstream %.0f, peer %.0f%n",
          p.hostPort(),
          owned,
          blobs.size(),
          m.sum("registry_proxy_blob_fetches_total", "source", "upstream"),
          m.sum("registry_proxy_blob_fetches_total", "source", "peer"));
      assertThat(m.sum("registry_proxy_blob_fetches_total", "source", "upstream"))
          .as("upstream fetches by %s: the blobs it owns", p.hostPort())
          .isEqualTo(owned);
    }
  }

  /** The proxy's GETs of {@code digest} in the registry's access log. */
  private long blobGets(String digest) {
    Pattern line =
        Pattern.compile(
            "\"GET /v2/"
                + Pattern.quote(REPO)
                + "/blobs/"
                + Pattern.quote(digest)
                + " HTTP/1\\.1\" \\d+ .*\"registry-proxy/");
    try {
      return Files.readAllLines(registry.logFile()).stream()
          .filter(l -> line.matcher(l).find())
          .count();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
