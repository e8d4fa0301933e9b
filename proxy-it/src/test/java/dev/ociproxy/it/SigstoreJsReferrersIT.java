package dev.ociproxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ociproxy.it.support.CommandResult;
import dev.ociproxy.it.support.Commands;
import dev.ociproxy.it.support.NodeProject;
import dev.ociproxy.it.support.OciImage;
import dev.ociproxy.it.support.OciImages;
import dev.ociproxy.it.support.ProcessGuard;
import dev.ociproxy.it.support.ProxyProcess;
import dev.ociproxy.it.support.Skopeo;
import dev.ociproxy.it.support.UpstreamRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A third-party client reads the referrers API through the proxy: sigstore-js's OCI client ({@code
 * @sigstore/oci} 0.7.2 from the npm registry, what attaches attestations to images), which asks a
 * registry for the referrers of the zero digest and takes a 200 as "the API exists", anything else
 * as "use the tag schema". Debian's docker-registry 2.8.2 has no referrers API; the proxy in front
 * of it must answer as a registry that has one (issue 19: a 404 here made clients think the
 * repository was missing). No client on npm or in Debian lists referrers (no oras, regclient,
 * notation or cosign build here), so this is the one third-party check.
 */
@ExtendWith(ProcessGuard.class)
class SigstoreJsReferrersIT {
  private static final String UP = "registry.example.com";
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  @BeforeEach
  void available() {
    UpstreamRegistry.availability()
        .and(Skopeo.availability())
        .and(ProxyProcess.availability())
        .and(NodeProject.availability())
        .assumeAvailable();
  }

  @Test
  void sigstoreJsFindsNoReferrersApiAtTheUpstream_andOneThroughTheProxy() throws Exception {
    OciImage image = OciImages.singleArch(tmp.resolve("layout"), "v1", 10_000);
    try (UpstreamRegistry up = UpstreamRegistry.startOpen();
        ProxyProcess proxy = ProxyProcess.builder().upstream(UP, up.url()).start()) {
      Skopeo.push(image, up, "test/app:v1");

      assertThat(referrersApi(up.hostPort(), "test/app")).as("docker-registry 2.8.2").isFalse();
      assertThat(referrersApi(proxy.hostPort(), UP + "/test/app")).as("the proxy").isTrue();
    }
  }

  /** What sigstore-js concludes about {@code repository} at {@code registry} (loopback: http). */
  private static boolean referrersApi(String registry, String repository) throws Exception {
    Path dir = NodeProject.installed("sigstore", "@sigstore/oci", List.of("probe.cjs"));
    CommandResult r =
        Commands.run(
            List.of("node", dir.resolve("probe.cjs").toString(), registry, repository),
            Map.of(),
            Duration.ofMinutes(1));
    assertThat(r.succeeded()).as(r.describe()).isTrue();
    JsonNode answer = JSON.readTree(r.stdout());
    assertThat(answer.has("referrersApi")).as(r.describe()).isTrue();
    return answer.path("referrersApi").asBoolean();
  }
}
