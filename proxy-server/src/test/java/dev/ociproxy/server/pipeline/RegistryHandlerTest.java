package dev.ociproxy.server.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ociproxy.server.auth.AccessPolicy;
import dev.ociproxy.server.config.ProxyConfig;
import dev.ociproxy.server.pipeline.EmbeddedClient.Response;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The routes that are answered without an upstream, through the assembled client pipeline. */
class RegistryHandlerTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path cache;
  private static TestMirrors mirrors;
  private static ProxyChannelInitializer pipeline;
  private EmbeddedClient client;
  private EmbeddedChannel channel;

  @BeforeAll
  static void createPipeline() {
    mirrors = new TestMirrors(cache);
    // Port 9 (discard) is closed: anything that reached the upstream would be a 5xx, never a 4xx.
    Upstream example = mirrors.upstream("registry.example.com", "http://127.0.0.1:9");
    pipeline =
        new ProxyChannelInitializer(
            ProxyConfig.Limits.defaults(),
            Map.of("registry.example.com", example),
            example,
            null,
            AccessPolicy.open());
  }

  @AfterAll
  static void stopMirrors() {
    mirrors.close();
  }

  @BeforeEach
  void openChannel() {
    client = new EmbeddedClient(pipeline);
    channel = client.channel;
  }

  @AfterEach
  void finishChannel() {
    assertThat(channel.finishAndReleaseAll()).as("unread messages left in the channel").isFalse();
  }

  @Test
  void apiVersionCheckAnswers200WithTheDistributionHeader() throws Exception {
    Response r = exchange("GET /v2/ HTTP/1.1\r\nHost: proxy\r\n\r\n").get(0);

    assertThat(r.status()).isEqualTo(200);
    assertThat(r.header("docker-distribution-api-version")).isEqualTo("registry/2.0");
    assertThat(r.header("content-type")).isEqualTo("application/json");
    assertThat(r.header("content-length")).isEqualTo("2");
    assertThat(JSON.readTree(r.body()).isObject()).isTrue();
    assertThat(channel.isOpen()).isTrue();
  }

  @Test
  void apiVersionCheckWithoutTrailingSlashIsAnsweredToo() {
    assertThat(exchange("GET /v2 HTTP/1.1\r\nHost: proxy\r\n\r\n").get(0).status()).isEqualTo(200);
  }

  @Test
  void headApiVersionCheckHasTheLengthButNoBody() {
    Response r = exchange("HEAD /v2/ HTTP/1.1\r\nHost: proxy\r\n\r\n").get(0);

    assertThat(r.status()).isEqualTo(200);
    assertThat(r.header("content-length")).isEqualTo("2");
    assertThat(r.body()).isEmpty();
  }

  @Test
  void encodedPathIsAnsweredWithTheSpecJsonErrorBody() throws Exception {
    Response r =
        exchange("GET /v2/registry.example.com/a%2Fb/manifests/v1 HTTP/1.1\r\nHost: proxy\r\n\r\n")
            .get(0);

    assertThat(r.status()).isEqualTo(400);
    assertThat(r.header("content-type")).isEqualTo("application/json");
    assertThat(r.header("docker-distribution-api-version")).isEqualTo("registry/2.0");
    assertThat(Integer.parseInt(r.header("content-length")))
        .isEqualTo(r.body().getBytes(StandardCharsets.UTF_8).length);
    JsonNode error = JSON.readTree(r.body()).path("errors").path(0);
    assertThat(error.path("code").asText()).isEqualTo("NAME_INVALID");
    assertThat(error.path("message").asText()).isNotEmpty();
    assertThat(error.has("detail")).isTrue();
    assertThat(channel.isOpen()).as("a routing error keeps the connection").isTrue();
  }

  @Test
  void unknownUpstreamIsNameUnknown404() throws Exception {
    Response r =
        exchange("GET /v2/quay.io/org/app/manifests/v1 HTTP/1.1\r\nHost: proxy\r\n\r\n").get(0);

    assertThat(r.status()).isEqualTo(404);
    assertThat(errorCode(r)).isEqualTo("NAME_UNKNOWN");
  }

  @Test
  void invalidDigestIsDigestInvalid400() throws Exception {
    Response r = exchange("GET /v2/a/blobs/sha256:nothex HTTP/1.1\r\nHost: proxy\r\n\r\n").get(0);

    assertThat(r.status()).isEqualTo(400);
    assertThat(errorCode(r)).isEqualTo("DIGEST_INVALID");
  }

  @Test
  void pushWithABodyIsUnsupported405AndTheBodyIsReleased() throws Exception {
    Response r =
        exchange(
                "PUT /v2/a/manifests/v1 HTTP/1.1\r\nHost: proxy\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 11\r\n\r\n{\"a\":\"b\"}\r\n")
            .get(0);

    assertThat(r.status()).isEqualTo(405);
    assertThat(errorCode(r)).isEqualTo("UNSUPPORTED");
  }

  @Test
  void chunkedUploadIsUnsupported405() throws Exception {
    Response r =
        exchange(
                "POST /v2/a/blobs/uploads/ HTTP/1.1\r\nHost: proxy\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "5\r\nhello\r\n0\r\n\r\n")
            .get(0);

    assertThat(r.status()).isEqualTo(405);
    assertThat(errorCode(r)).isEqualTo("UNSUPPORTED");
  }

  @Test
  void headErrorHasNoBody() {
    Response r = exchange("HEAD /v2/a/blobs/sha256:nothex HTTP/1.1\r\nHost: proxy\r\n\r\n").get(0);

    assertThat(r.status()).isEqualTo(400);
    assertThat(r.body()).isEmpty();
  }

  @Test
  void keepAliveConnectionAnswersRequestsInOrder() throws Exception {
    List<Response> rs =
        exchange(
            "GET /v2/ HTTP/1.1\r\nHost: proxy\r\n\r\n"
                + "GET /v2/A/manifests/v1 HTTP/1.1\r\nHost: proxy\r\n\r\n"
                + "HEAD /v2/ HTTP/1.1\r\nHost: proxy\r\n\r\n");

    assertThat(rs).extracting(r -> r.status()).containsExactly(200, 400, 200);
    assertThat(errorCode(rs.get(1))).isEqualTo("NAME_INVALID");
    assertThat(channel.isOpen()).isTrue();
  }

  @Test
  void malformedRequestLineIsAnswered400AndClosed() throws Exception {
    Response r = exchange("GET /v2/ HTTP/one.one\r\nHost: proxy\r\n\r\n").get(0);

    assertThat(r.status()).isEqualTo(400);
    assertThat(r.header("connection")).isEqualToIgnoringCase("close");
    assertThat(JSON.readTree(r.body()).path("errors").path(0).path("code").asText()).isNotEmpty();
    assertThat(channel.isOpen()).isFalse();
  }

  @Test
  void overlongRequestLineIsAnswered414AndClosed() {
    Response r =
        exchange("GET /v2/" + "a".repeat(9000) + "/manifests/v1 HTTP/1.1\r\nHost: proxy\r\n\r\n")
            .get(0);

    assertThat(r.status()).isEqualTo(414);
    assertThat(channel.isOpen()).isFalse();
  }

  @Test
  void overlongHeadersAreAnswered431AndClosed() {
    Response r =
        exchange("GET /v2/ HTTP/1.1\r\nHost: proxy\r\nX-Big: " + "b".repeat(20_000) + "\r\n\r\n")
            .get(0);

    assertThat(r.status()).isEqualTo(431);
    assertThat(channel.isOpen()).isFalse();
  }

  @Test
  void bytesAfterAMalformedRequestAreIgnored() {
    List<Response> rs =
        exchange("GET /v2/ HTTP/one.one\r\n\r\nGET /v2/ HTTP/1.1\r\nHost: proxy\r\n\r\n");

    assertThat(rs).extracting(r -> r.status()).containsExactly(400);
  }

  private List<Response> exchange(String requests) {
    return client.exchange(requests);
  }

  private static String errorCode(Response r) throws Exception {
    return JSON.readTree(r.body()).path("errors").path(0).path("code").asText();
  }
}
