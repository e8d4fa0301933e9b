package dev.ociproxy.it;

import static dev.ociproxy.it.CacheAssertions.assertCached;
import static dev.ociproxy.it.CacheAssertions.assertNotCached;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ociproxy.it.support.Http;
import dev.ociproxy.it.support.OciImage;
import dev.ociproxy.it.support.OciImages;
import dev.ociproxy.it.support.Platform;
import dev.ociproxy.it.support.Ports;
import dev.ociproxy.it.support.ProcessGuard;
import dev.ociproxy.it.support.ProxyProcess;
import dev.ociproxy.it.support.Skopeo;
import dev.ociproxy.it.support.UpstreamRegistry;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The admin actions of the real jar against a real registry: {@code POST /admin/warm} on the admin
 * port fills the cache so skopeo pulls with the upstream switched off, the client port has no admin
 * actions, and {@code GET /admin/drift} shows a pinned tag the upstream moved.
 */
@ExtendWith(ProcessGuard.class)
class AdminActionsIT {
  private static final String UP = "registry.example.com";
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  @BeforeEach
  void available() {
    UpstreamRegistry.availability()
        .and(Skopeo.availability())
        .and(ProxyProcess.availability())
        .assumeAvailable();
  }

  private record Answer(int status, String body) {
    JsonNode json() throws IOException {
      return JSON.readTree(body);
    }
  }

  private static Answer post(String url, String json) throws IOException, InterruptedException {
    return post(url, json, null);
  }

  /**
   * @param token sent as {@code Authorization: Bearer}, or null for none
   */
  private static Answer post(String url, String json, String token)
      throws IOException, InterruptedException {
    HttpRequest.Builder req =
        HttpRequest.newBuilder(URI.create(url))
            .timeout(Duration.ofMinutes(5))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(json));
    if (token != null) {
      req.header("Authorization", "Bearer " + token);
    }
    HttpResponse<String> r =
        Http.client().send(req.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    return new Answer(r.statusCode(), r.body());
  }

  private static Answer get(String url) {
    HttpResponse<byte[]> r =
        Http.tryGet(url).orElseThrow(() -> new AssertionError("no answer from " + url));
    return new Answer(r.statusCode(), new String(r.body(), StandardCharsets.UTF_8));
  }

  @Test
  void
      warmOnTheAdminPort_fillsTheCache_soSkopeoPullsWithTheUpstreamOff_andTheClientPortHasNoAdminActions()
          throws Exception {
    OciImage image = OciImages.multiArch(tmp.resolve("layout"), "multi", 1024 * 1024, 200_000);
    OciImage.PlatformImage amd64 = image.image(Platform.LINUX_AMD64);
    int adminPort = Ports.free();
    try (UpstreamRegistry registry = UpstreamRegistry.startOpen();
        ProxyProcess proxy =
            ProxyProcess.builder()
                .upstream(UP, registry.url())
                .cacheOption("tagTtl", "1h")
                .extraYaml("admin:\n  listen: \"127.0.0.1:" + adminPort + "\"\n")
                .start()) {
      Skopeo.push(image, registry, "test/hello:multi");
      String admin = "http://127.0.0.1:" + adminPort;
      String body =
          "{\"refs\": [\"" + UP + "/test/hello:multi\"], \"platforms\": [\"linux/amd64\"]}";

      Answer onClientPort = post(proxy.url() + "/admin/warm", body);
      Answer warm = post(admin + "/admin/warm", body);

      assertThat(onClientPort.status()).as(onClientPort.body()).isEqualTo(404);
      assertThat(onClientPort.body()).contains("NAME_UNKNOWN");
      assertThat(warm.status()).as(warm.body()).isEqualTo(200);
      JsonNode report = warm.json();
      assertThat(report.path("ok").asBoolean()).isTrue();
      assertThat(report.path("blobs").path("done").asInt()).isEqualTo(amd64.blobDigests().size());
      assertThat(report.path("blobs").path("total").asInt()).isEqualTo(amd64.blobDigests().size());
      assertThat(report.path("bytes").path("done").asLong())
          .isEqualTo(report.path("bytes").path("total").asLong())
          .isGreaterThan(1024 * 1024);
      JsonNode item = report.path("results").get(0);
      assertThat(item.path("ref").asText()).isEqualTo(UP + "/test/hello:multi");
      assertThat(item.path("digest").asText()).isEqualTo(image.digest());
      assertThat(item.path("manifests").asInt())
          .isEqualTo(2); // the index and linux/amd64's manifest
      assertThat(item.path("problems")).isEmpty();
      amd64.blobDigests().forEach(d -> assertCached(proxy.cacheDir(), "blobs", d));
      image
          .image(Platform.LINUX_ARM64)
          .blobDigests()
          .forEach(d -> assertNotCached(proxy.cacheDir(), d));

      registry.stop();
      Skopeo.DirImage pulled =
          Skopeo.copyToDir(
              proxy.hostPort() + "/" + UP + "/test/hello:multi",
              tmp.resolve("pulled"),
              null,
              false);

      assertThat(pulled.manifestDigest()).isEqualTo(amd64.manifest().digest());
      assertThat(pulled.storedDigests()).containsAll(amd64.blobDigests());
      Answer drift = get(admin + "/admin/drift");
      assertThat(drift.status()).isEqualTo(200);
      assertThat(drift.json().path("drifted").asInt()).isZero();
      assertThat(drift.json().path("drifts").isArray()).isTrue();
    }
  }

  @Test
  void withAnAdminToken_aWarmWithoutItIs401AndFetchesNothing_andWithItWarms() throws Exception {
    OciImage image = OciImages.singleArch(tmp.resolve("layout"), "v1", 100_000);
    String token = "it-admin-token-0123456789";
    int adminPort = Ports.free();
    try (UpstreamRegistry registry = UpstreamRegistry.startOpen();
        ProxyProcess proxy =
            ProxyProcess.builder()
                .upstream(UP, registry.url())
                .extraYaml(
                    "admin:\n  listen: \"127.0.0.1:"
                        + adminPort
                        + "\"\n  token: \""
                        + token
                        + "\"\n")
                .start()) {
      Skopeo.push(image, registry, "test/app:v1");
      String admin = "http://127.0.0.1:" + adminPort;
      String body = "{\"refs\": [\"test/app:v1\"]}";

      Answer without = post(admin + "/admin/warm", body, null);
      Answer wrong = post(admin + "/admin/warm", body, "it-admin-token-9876543210");

      assertThat(without.status()).as(without.body()).isEqualTo(401);
      assertThat(wrong.status()).as(wrong.body()).isEqualTo(401);
      image.blobDigests().forEach(d -> assertNotCached(proxy.cacheDir(), d));
      assertThat(get(admin + "/metrics").status()).as("metrics need no token").isEqualTo(200);
      assertThat(proxy.log())
          .contains("refused: no token")
          .contains("refused: wrong token")
          .doesNotContain(token);

      Answer with = post(admin + "/admin/warm", body, token);

      assertThat(with.status()).as(with.body()).isEqualTo(200);
      image.blobDigests().forEach(d -> assertCached(proxy.cacheDir(), "blobs", d));
    }
  }

  @Test
  void adminListenerReachableFromOtherHostsWithoutAToken_isWarnedAboutAtStart() throws Exception {
    int adminPort = Ports.free();
    try (UpstreamRegistry registry = UpstreamRegistry.startOpen();
        ProxyProcess proxy =
            ProxyProcess.builder()
                .upstream(UP, registry.url())
                .extraYaml("admin:\n  listen: \"0.0.0.0:" + adminPort + "\"\n")
                .start()) {
      // start() returns once the main listener answers; the admin listener binds, then warns.
      await("the warning")
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(() -> assertThat(proxy.log()).contains("admin.token is not set"));
    }
  }

  @Test
  void driftOnTheAdminPort_showsAPinnedTagTheUpstreamMoved() throws Exception {
    OciImage v1 = OciImages.singleArch(tmp.resolve("layout"), "v1", 100_000);
    OciImage moved = OciImages.singleArch(tmp.resolve("layout"), "moved", 100_000);
    Path pins =
        Files.writeString(
            tmp.resolve("pins.yaml"),
            "\"" + UP + "/test/app:v1\": \"" + v1.manifestDigest() + "\"\n");
    int adminPort = Ports.free();
    try (UpstreamRegistry registry = UpstreamRegistry.startOpen();
        ProxyProcess proxy =
            ProxyProcess.builder()
                .upstream(UP, registry.url())
                .cacheOption("tagTtl", "0s")
                .extraYaml(
                    "pins: "
                        + JSON.writeValueAsString(pins.toString())
                        + "\n"
                        + "admin:\n  listen: \"127.0.0.1:"
                        + adminPort
                        + "\"\n")
                .start()) {
      String admin = "http://127.0.0.1:" + adminPort;
      Skopeo.push(v1, registry, "test/app:v1");
      assertThat(post(admin + "/admin/warm", "{\"refs\": [\"test/app:v1\"]}").status())
          .isEqualTo(200);
      Skopeo.push(moved, registry, "test/app:v1");

      JsonNode drift =
          await("a drift")
              .atMost(Duration.ofSeconds(60))
              .pollInterval(Duration.ofMillis(250))
              .until(
                  () -> {
                    // A request for the pinned tag is what makes the proxy look at the upstream's
                    // tag.
                    Http.getManifest(proxy.url() + "/v2/" + UP + "/test/app/manifests/v1");
                    return get(admin + "/admin/drift").json();
                  },
                  d -> d.path("drifted").asInt() > 0);

      assertThat(drift.path("drifted").asInt()).as(String.valueOf(drift)).isEqualTo(1);
      JsonNode d = drift.path("drifts").get(0);
      assertThat(d.path("tag").asText()).isEqualTo(UP + "/test/app:v1");
      assertThat(d.path("pinned").asText()).isEqualTo(v1.manifestDigest());
      assertThat(d.path("upstream").asText()).isEqualTo(moved.manifestDigest());
    }
  }
}
