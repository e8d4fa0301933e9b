package dev.ociproxy.server.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ociproxy.server.auth.AccessPolicy;
import dev.ociproxy.server.auth.AccessRule;
import dev.ociproxy.server.config.ProxyConfig;
import dev.ociproxy.testing.HostileRegistry;
import dev.ociproxy.testing.OciJson;
import dev.ociproxy.testing.RawHttpClient;
import dev.ociproxy.testing.RawHttpClient.Response;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code GET /v2/<name>/referrers/<digest>} over the assembled pipeline and a hostile upstream. */
class ReferrersEndpointTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String INDEX = "application/vnd.oci.image.index.v1+json";
  private static final String SBOM = "application/spdx+json";

  @TempDir Path cache;
  HostileRegistry up;
  TestMirrors mirrors;
  NioEventLoopGroup group;
  Channel server;
  RawHttpClient client;
  String image;
  String sbom;
  String signature;

  @BeforeEach
  void start() throws Exception {
    up = HostileRegistry.start();
    mirrors = new TestMirrors(cache);
    Upstream mirror = mirrors.upstream("up.test", up.url());
    group = new NioEventLoopGroup(1);
    AccessPolicy policy =
        new AccessPolicy(
            false,
            List.of(new AccessRule("up.test", "test/secret", false, Set.of("alice"), Set.of())));
    server =
        new ServerBootstrap()
            .group(group)
            .channel(NioServerSocketChannel.class)
            .childHandler(
                new ProxyChannelInitializer(
                    ProxyConfig.Limits.defaults(), Map.of("up.test", mirror), mirror, null, policy))
            .bind("127.0.0.1", 0)
            .syncUninterruptibly()
            .channel();
    client =
        new RawHttpClient(
            "127.0.0.1",
            ((InetSocketAddress) server.localAddress()).getPort(),
            Duration.ofSeconds(10));
    image = up.putImage("test/app", "v1", "layer".getBytes()).manifestDigest();
    sbom =
        up.putManifest(
            "test/app",
            OciJson.IMAGE_MANIFEST,
            OciJson.artifact(SBOM, "application/vnd.oci.empty.v1+json", image, "sbom"));
    signature =
        up.putManifest(
            "test/app",
            OciJson.IMAGE_MANIFEST,
            OciJson.artifact(null, "application/vnd.example.signature", image, "signature"));
  }

  @AfterEach
  void stop() {
    client.close();
    server.close().syncUninterruptibly();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    mirrors.close();
    up.close();
  }

  private static List<String> listed(Response r) throws Exception {
    List<String> out = new ArrayList<>();
    JsonNode index = JSON.readTree(r.body());
    assertThat(index.path("mediaType").asText()).isEqualTo(INDEX);
    index
        .path("manifests")
        .forEach(m -> out.add(m.path("digest").asText() + " " + m.path("artifactType").asText()));
    return out;
  }

  @Test
  void referrersByPathPrefixAndByNsAreTheVerifiedIndex() throws Exception {
    for (String uri :
        List.of(
            "/v2/up.test/test/app/referrers/" + image,
            "/v2/test/app/referrers/" + image + "?ns=up.test")) {
      Response r = client.get(uri);

      assertThat(r.status()).as(uri).isEqualTo(200);
      assertThat(r.header("Content-Type")).contains(INDEX);
      assertThat(r.header("OCI-Filters-Applied")).isEmpty();
      assertThat(listed(r))
          .containsExactlyInAnyOrder(
              sbom + " " + SBOM, signature + " application/vnd.example.signature");
    }
  }

  @Test
  void theArtifactTypeFilterListsOnlyThatTypeAndSaysItWasApplied() throws Exception {
    Response r = client.get("/v2/up.test/test/app/referrers/" + image + "?artifactType=" + SBOM);

    assertThat(r.status()).isEqualTo(200);
    assertThat(r.header("OCI-Filters-Applied")).contains("artifactType");
    assertThat(listed(r)).containsExactly(sbom + " " + SBOM);
  }

  @Test
  void aDigestWithNoReferrersIsA200WithAnEmptyIndexNeverANameUnknown() throws Exception {
    Response r = client.get("/v2/up.test/test/app/referrers/" + sbom);

    assertThat(r.status()).isEqualTo(200);
    assertThat(listed(r)).isEmpty();
  }

  @Test
  void aMalformedDigestOrArtifactTypeIsA400AndTheConnectionStaysUsable() throws Exception {
    assertThat(client.get("/v2/up.test/test/app/referrers/sha256:nothex").status()).isEqualTo(400);
    assertThat(
            client
                .get("/v2/up.test/test/app/referrers/" + image + "?artifactType=%3Cscript%3E")
                .status())
        .isEqualTo(400);
    assertThat(client.get("/v2/up.test/test/app/referrers/" + image).status()).isEqualTo(200);
    assertThat(up.requests("GET", "/v2/test/app/referrers/")).hasSize(1);
  }

  @Test
  void theAccessRulesOfManifestsApplyBeforeTheUpstreamIsAsked() throws Exception {
    Response r = client.get("/v2/up.test/test/secret/referrers/" + image);

    assertThat(r.status()).isEqualTo(401);
    assertThat(up.requests("GET", "/v2/test/secret/")).isEmpty();
  }

  @Test
  void onlyReadsAreAnswered() throws Exception {
    assertThat(client.exchange("DELETE", "/v2/up.test/test/app/referrers/" + image).status())
        .isEqualTo(405);
    assertThat(client.head("/v2/up.test/test/app/referrers/" + image).status()).isEqualTo(200);
  }
}
