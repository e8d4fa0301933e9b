package dev.ociproxy.server.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ociproxy.server.admin.AdminHandler;
import dev.ociproxy.server.auth.AccessPolicy;
import dev.ociproxy.server.config.ProxyConfig;
import dev.ociproxy.server.health.Readiness;
import dev.ociproxy.server.pipeline.EmbeddedClient.Response;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Malformed requests against the assembled client pipeline as the default config builds it (metrics
 * and health answered on the same listener): each gets a 4xx with the spec's JSON error body, and
 * the connection answers the next request unless its framing was lost.
 */
class MalformedRequestRejectorTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String UP = "registry.example.com";
  private static final String DIGEST = "sha256:" + "a".repeat(64);

  /**
   * Each kind of damage about 150 times, each followed by a good request on the same connection.
   */
  private static final int FUZZ_REQUESTS = 2_000;

  @TempDir static Path cache;
  private static TestMirrors mirrors;
  private static ProxyChannelInitializer pipeline;

  @BeforeAll
  static void createPipeline() throws Exception {
    mirrors = new TestMirrors(cache);
    // Port 9 (discard) is closed: a request that reached the upstream would be a 5xx, never a 4xx.
    Upstream example = mirrors.upstream(UP, "http://127.0.0.1:9");
    Files.createDirectories(cache.resolve("tmp"));
    AdminHandler admin = new AdminHandler(() -> "", new Readiness(cache, 1, () -> false), true);
    pipeline =
        new ProxyChannelInitializer(
            ProxyConfig.Limits.defaults(),
            Map.of(UP, example),
            example,
            null,
            AccessPolicy.open(),
            new ProxyChannelInitializer.Extras(null, admin, null, null));
  }

  @AfterAll
  static void stopMirrors() {
    mirrors.close();
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "/v2/%zz", "/v2/lib/good/manifests/%", "/v2/lib/good/manifests/v1%",
            "/v2/lib/good/tags/list?n=%zz",
        "/v2/lib/good/tags/list?last=%", "/v2/lib/good/manifests/v1?ns=%G0", "/metrics%", "/%"
      })
  void brokenPercentEscapeIsA400WithTheJsonErrorBody_andTheConnectionAnswersTheNextRequest(
      String uri) throws Exception {
    EmbeddedClient client = new EmbeddedClient(pipeline);

    List<Response> rs =
        client.exchange(
            "GET "
                + uri
                + " HTTP/1.1\r\nHost: proxy\r\n\r\n"
                + "GET /v2/ HTTP/1.1\r\nHost: proxy\r\n\r\n");

    assertThat(rs).extracting(Response::status).containsExactly(400, 200);
    assertSpecError(rs.get(0));
    assertThat(client.channel.isOpen()).isTrue();
    assertThat(client.channel.finishAndReleaseAll()).isFalse();
  }

  @ParameterizedTest
  @ValueSource(strings = {".INVALID_MANIFEST_NAME", "-dash", "t!g", "t@g"})
  void tagOutsideTheGrammarIsManifestUnknown404WithoutAskingTheUpstream(String tag)
      throws Exception {
    EmbeddedClient client = new EmbeddedClient(pipeline);

    List<Response> rs =
        client.exchange(
            "GET /v2/lib/good/manifests/"
                + tag
                + " HTTP/1.1\r\nHost: proxy\r\n\r\n"
                + "HEAD /v2/lib/good/manifests/"
                + tag
                + " HTTP/1.1\r\nHost: proxy\r\n\r\n");

    assertThat(rs).extracting(Response::status).containsExactly(404, 404);
    assertThat(errorCode(rs.get(0))).isEqualTo("MANIFEST_UNKNOWN");
    assertThat(rs.get(1).body()).isEmpty();
    assertThat(client.channel.finishAndReleaseAll()).isFalse();
  }

  @Test
  void thousandsOfRandomMalformedRequestsEachGetA4xxJsonAnswer_andTheConnectionStaysUsable()
      throws Exception {
    long seed = System.nanoTime();
    Random r = new Random(seed);
    EmbeddedClient client = new EmbeddedClient(pipeline);
    int reopened = 0;
    for (int i = 0; i < FUZZ_REQUESTS; i++) {
      Malformed kind = Malformed.values()[r.nextInt(Malformed.values().length)];
      String request = kind.request.apply(r);
      String why = "seed " + seed + ", " + kind + ": " + request;

      List<Response> rs = client.exchange(request + "GET /v2/ HTTP/1.1\r\nHost: proxy\r\n\r\n");

      assertThat(rs).as(why).isNotEmpty();
      Response answer = rs.get(0);
      assertThat(answer.status()).as(why).isBetween(400, 499);
      boolean head = request.startsWith("HEAD ");
      if (!head) {
        assertSpecError(answer);
      }
      if (kind.framingLost) {
        assertThat(answer.header("connection")).as(why).isEqualToIgnoringCase("close");
        assertThat(rs).as(why).hasSize(1);
        assertThat(client.channel.isOpen()).as(why).isFalse();
        client.channel.finishAndReleaseAll();
        client = new EmbeddedClient(pipeline);
        reopened++;
      } else {
        assertThat(rs).as(why).extracting(Response::status).containsExactly(answer.status(), 200);
        assertThat(client.channel.isOpen()).as(why).isTrue();
      }
    }
    assertThat(reopened)
        .as("some requests lose their framing, most do not")
        .isBetween(1, FUZZ_REQUESTS / 2);
    assertThat(client.channel.finishAndReleaseAll()).isFalse();
  }

  /** Kinds of damage, each certain to make a request malformed whatever the random choices. */
  private enum Malformed {
    BROKEN_ESCAPE_IN_PATH(false, r -> line(r, insert(r, base(r), "%" + nonHex(r)))),
    BROKEN_ESCAPE_IN_QUERY(
        false,
        r ->
            line(
                r,
                base(r)
                    + "?"
                    + pick(r, "n", "last", "ns", "x")
                    + "="
                    + value(r)
                    + "%"
                    + (r.nextBoolean() ? "" : nonHex(r) + value(r)))),
    TRAILING_PERCENT(false, r -> line(r, base(r) + "%" + (r.nextBoolean() ? "" : "a"))),
    DOT_SEGMENT_OR_DOUBLE_SLASH(
        false, r -> line(r, insert(r, base(r), pick(r, "/../", "/./", "//", "\\")))),
    TAG_OUTSIDE_THE_GRAMMAR(
        false,
        r ->
            line(
                r,
                "/v2/lib/good/manifests/"
                    + switch (r.nextInt(3)) {
                      case 0 -> pick(r, ".", "-") + value(r);
                      case 1 -> value(r) + pick(r, "!", "@", "~", "*", "$") + value(r);
                      default -> "t".repeat(129 + r.nextInt(100));
                    })),
    MALFORMED_DIGEST(
        false,
        r ->
            line(
                r,
                "/v2/lib/good/"
                    + pick(r, "blobs/", "manifests/")
                    + pick(r, "sha256:", "sha512:", "md5:", ":", "sha256:" + "A".repeat(64))
                    + value(r))),
    BAD_REPOSITORY_NAME(
        false,
        r -> line(r, "/v2/" + pick(r, "UPPER", "a..b", "-a", "a_", "a/-b") + "/manifests/v1")),
    WRITE_METHOD(
        false,
        r ->
            pick(r, "PUT", "POST", "DELETE", "PATCH")
                + " "
                + base(r)
                + " HTTP/1.1\r\nHost: proxy\r\n"
                + "Content-Length: 0\r\n\r\n"),
    BAD_PAGINATION(
        false,
        r ->
            line(
                r,
                "/v2/lib/good/tags/list?"
                    + pick(r, "n=-1", "n=x", "n=1234567", "last=.a", "last=" + "z".repeat(200)))),
    BAD_VERSION(
        true,
        r ->
            "GET " + base(r) + " HTTP/" + pick(r, "one", "1.1.1", "x") + "\r\nHost: proxy\r\n\r\n"),
    HEADER_WITHOUT_COLON(
        true,
        r ->
            "GET "
                + base(r)
                + " HTTP/1.1\r\nHost: proxy\r\n"
                + value(r)
                + " "
                + value(r)
                + "\r\n\r\n"),
    BAD_CONTENT_LENGTH(
        true,
        r ->
            "GET "
                + base(r)
                + " HTTP/1.1\r\nHost: proxy\r\nContent-Length: "
                + pick(r, "-1", "x", "1, 2", "99999999999999999999")
                + "\r\n\r\n"),
    TOO_MANY_HEADERS(
        true,
        r -> {
          StringBuilder b = new StringBuilder("GET " + base(r) + " HTTP/1.1\r\nHost: proxy\r\n");
          int n = ProxyConfig.Limits.defaults().maxHeaders() + 1 + r.nextInt(20);
          for (int h = 0; h < n; h++) {
            b.append("X-H").append(h).append(": v\r\n");
          }
          return b.append("\r\n").toString();
        });

    final boolean framingLost;
    final Function<Random, String> request;

    Malformed(boolean framingLost, Function<Random, String> request) {
      this.framingLost = framingLost;
      this.request = request;
    }
  }

  private static String line(Random r, String uri) {
    return pick(r, "GET", "HEAD")
        + " "
        + uri
        + " HTTP/1.1\r\nHost: proxy\r\n"
        + (r.nextBoolean() ? "Accept: application/vnd.oci.image.manifest.v1+json\r\n" : "")
        + "\r\n";
  }

  private static String base(Random r) {
    return pick(
        r,
        "/v2/",
        "/v2/lib/good/manifests/v1",
        "/v2/" + UP + "/lib/good/manifests/" + DIGEST,
        "/v2/lib/good/blobs/" + DIGEST,
        "/v2/lib/good/tags/list",
        "/v2/" + UP + "/lib/good/tags/list");
  }

  /**
   * {@code s} with {@code insert} at a random place after {@code /v2/}, so the route is still
   * tried.
   */
  private static String insert(Random r, String s, String insert) {
    int at = 4 + r.nextInt(s.length() - 3);
    return s.substring(0, at) + insert + s.substring(at);
  }

  private static String value(Random r) {
    return Long.toString(r.nextLong() & Long.MAX_VALUE, 36);
  }

  private static String nonHex(Random r) {
    return pick(r, "z", "G", "g", "%", "/", "-", ".", "_", "~", "x");
  }

  private static String pick(Random r, String... choices) {
    return choices[r.nextInt(choices.length)];
  }

  private static void assertSpecError(Response r) throws Exception {
    assertThat(r.header("content-type")).isEqualTo("application/json");
    JsonNode error = JSON.readTree(r.body()).path("errors").path(0);
    assertThat(error.path("code").asText()).isNotEmpty();
    assertThat(error.path("message").asText()).isNotEmpty();
  }

  private static String errorCode(Response r) throws Exception {
    return JSON.readTree(r.body()).path("errors").path(0).path("code").asText();
  }
}
