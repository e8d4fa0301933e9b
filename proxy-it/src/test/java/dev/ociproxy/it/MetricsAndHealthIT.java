package dev.ociproxy.it;

import static dev.ociproxy.it.CacheAssertions.assertNoWholeSuccess;
import static dev.ociproxy.it.ItFixtures.random;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ociproxy.it.support.Http;
import dev.ociproxy.it.support.Ports;
import dev.ociproxy.it.support.ProxyProcess;
import dev.ociproxy.testing.HostileRegistry;
import dev.ociproxy.testing.Lie;
import dev.ociproxy.testing.RawHttpClient;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;

/**
 * What an operator sees of the real jar: Prometheus metrics that move with hits, misses and refused
 * lies, health and readiness endpoints, the separate admin listener and JSON access logs.
 */
class MetricsAndHealthIT extends PerTestHostileUpstream {
  private static final String UP = "up.test";
  private static final ObjectMapper JSON = new ObjectMapper();

  private RawHttpClient.Response get(String path) throws IOException {
    try (RawHttpClient c = new RawHttpClient("127.0.0.1", proxy.port(), Duration.ofSeconds(60))) {
      return c.get(path);
    }
  }

  private static PrometheusText scrape(String baseUrl) {
    HttpResponse<byte[]> r =
        Http.tryGet(baseUrl + "/metrics")
            .orElseThrow(() -> new AssertionError("no answer from /metrics"));
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type"))
        .hasValueSatisfying(t -> assertThat(t).startsWith("text/plain"));
    return PrometheusText.parse(new String(r.body(), StandardCharsets.UTF_8));
  }

  private static String body(String url) {
    return Http.tryGet(url)
        .map(r -> r.statusCode() + " " + new String(r.body(), StandardCharsets.UTF_8))
        .orElse("no answer");
  }

  @Test
  void metricsMoveWithAMissAHitAndARefusedLie() throws Exception {
    proxy = ProxyProcess.builder().upstream(UP, up.url()).start();
    byte[] blob = random(200_000, 1);
    String digest = up.putBlob("metrics/repo", blob);
    byte[] lie = random(50_000, 2);
    String lieDigest = up.putBlob("metrics/repo", lie);
    up.lie(lieDigest, Lie.FLIP_LAST_BYTE);
    String base = "/v2/" + UP + "/metrics/repo/blobs/";
    String[] blobMiss = {"kind", "blob", "outcome", "miss", "upstream", UP};
    String[] blobHit = {"kind", "blob", "outcome", "hit", "upstream", UP};
    String[] refused = {"upstream", UP, "reason", "digest_mismatch"};

    PrometheusText before = scrape(proxy.url());
    assertThat(before.has("jvm_memory_used_bytes")).as("JVM memory").isTrue();
    assertThat(
            before.has("jvm_gc_pause_seconds_count")
                || before.has("jvm_gc_memory_allocated_bytes_total"))
        .as("GC")
        .isTrue();
    assertThat(before.has("jvm_threads_live_threads")).as("threads").isTrue();
    assertThat(before.has("netty_allocator_memory_used")).as("Netty pooled allocator").isTrue();
    assertThat(before.has("registry_proxy_cache_size_bytes")).isTrue();
    assertThat(before.has("registry_proxy_disk_queue_bytes")).isTrue();
    assertThat(before.has("registry_proxy_direct_write_switches_total")).isTrue();
    assertThat(before.sum("registry_proxy_downloads_in_flight", "upstream", UP)).isZero();

    assertThat(get(base + digest).body()).isEqualTo(blob);
    // A request is recorded once its last write completes, a moment after the client has it all;
    // the upstream bytes once the download's completion callbacks have run on the disk writer.
    // (The request's counters are separate meters, the first of each registered on first use: a
    // scrape can fall between two of them, so the wait covers each one asserted on below.)
    PrometheusText afterMiss =
        awaitScrape(
            m ->
                m.sum("registry_proxy_cache_requests_total", blobMiss) >= 1
                    && m.sum(
                            "registry_proxy_served_bytes_total",
                            "kind",
                            "blob",
                            "source",
                            "upstream")
                        >= blob.length
                    && m.sum(
                            "registry_proxy_upstream_received_bytes_total",
                            "kind",
                            "blob",
                            "upstream",
                            UP)
                        >= blob.length);
    assertThat(afterMiss.sum("registry_proxy_cache_requests_total", blobMiss)).isEqualTo(1);
    assertThat(afterMiss.sum("registry_proxy_cache_requests_total", blobHit)).isZero();
    assertThat(
            afterMiss.sum(
                "registry_proxy_served_bytes_total", "kind", "blob", "source", "upstream"))
        .isEqualTo(blob.length);
    assertThat(
            afterMiss.sum(
                "registry_proxy_upstream_received_bytes_total", "kind", "blob", "upstream", UP))
        .isEqualTo(blob.length);
    assertThat(
            afterMiss.sum(
                "registry_proxy_upstream_requests_seconds_count",
                "upstream",
                UP,
                "method",
                "GET",
                "outcome",
                "2xx"))
        .isEqualTo(1);
    assertThat(afterMiss.sum("registry_proxy_cache_entries")).isGreaterThanOrEqualTo(1);
    assertThat(afterMiss.sum("registry_proxy_cache_size_bytes"))
        .isGreaterThanOrEqualTo(blob.length);
    assertThat(afterMiss.sum("registry_proxy_disk_queue_bytes"))
        .as("every received byte is on disk")
        .isZero();

    assertThat(get(base + digest).body()).isEqualTo(blob);
    PrometheusText afterHit =
        awaitScrape(
            m ->
                m.sum("registry_proxy_cache_requests_total", blobHit) >= 1
                    && m.sum("registry_proxy_served_bytes_total", "kind", "blob", "source", "cache")
                        >= blob.length);
    assertThat(afterHit.sum("registry_proxy_cache_requests_total", blobHit)).isEqualTo(1);
    assertThat(afterHit.sum("registry_proxy_cache_requests_total", blobMiss)).isEqualTo(1);
    assertThat(afterHit.sum("registry_proxy_served_bytes_total", "kind", "blob", "source", "cache"))
        .isEqualTo(blob.length);
    assertThat(
            afterHit.sum(
                "registry_proxy_requests_seconds_count",
                "route",
                "blob",
                "status",
                "2xx",
                "outcome",
                "complete",
                "upstream",
                UP))
        .isEqualTo(2);
    assertThat(
            afterHit.sum("registry_proxy_requests_seconds_bucket", "route", "blob", "le", "+Inf"))
        .isEqualTo(2);

    assertNoWholeSuccess(get(base + lieDigest));
    PrometheusText afterLie =
        awaitScrape(
            m ->
                m.sum("registry_proxy_verification_failures_total", refused) >= 1
                    && m.sum("registry_proxy_cache_requests_total", blobMiss) >= 2);
    assertThat(afterLie.sum("registry_proxy_verification_failures_total", refused)).isEqualTo(1);
    assertThat(afterLie.sum("registry_proxy_cache_requests_total", blobMiss)).isEqualTo(2);

    assertThat(afterLie.text())
        .as("no repository names or digests as labels")
        .doesNotContain("metrics/repo")
        .doesNotContain(digest.substring(7, 20))
        .doesNotContain(lieDigest.substring(7, 20));
  }

  /**
   * Scrapes until {@code done} holds (or 10 s pass): meters move a moment after the client is
   * answered.
   */
  private PrometheusText awaitScrape(java.util.function.Predicate<PrometheusText> done) {
    try {
      return await()
          .atMost(Duration.ofSeconds(10))
          .pollInterval(Duration.ofMillis(50))
          .until(() -> scrape(proxy.url()), done);
    } catch (ConditionTimeoutException e) {
      return scrape(proxy.url()); // the caller's assertions say what is missing
    }
  }

  @Test
  void concurrentMissesShowOneDownloadInFlightAndCountTheJoiners() throws Exception {
    proxy = ProxyProcess.builder().upstream(UP, up.url()).start();
    byte[] blob = random(100_000, 3);
    String digest = up.putBlob("shared/repo", blob);
    up.lie(digest, Lie.delayHeaders(Duration.ofSeconds(3)));
    String path = "/v2/" + UP + "/shared/repo/blobs/" + digest;
    List<Future<RawHttpClient.Response>> all = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      Callable<RawHttpClient.Response> c = () -> get(path);
      all.add(pool.submit(c));
    }
    PrometheusText during =
        awaitScrape(m -> m.sum("registry_proxy_coalesced_requests_total", "kind", "blob") >= 2);
    assertThat(during.sum("registry_proxy_downloads_in_flight", "kind", "blob", "upstream", UP))
        .isEqualTo(1);
    assertThat(
            during.sum("registry_proxy_coalesced_requests_total", "kind", "blob", "upstream", UP))
        .isEqualTo(2);
    for (Future<RawHttpClient.Response> f : all) {
      assertThat(f.get(60, TimeUnit.SECONDS).body()).isEqualTo(blob);
    }
    PrometheusText after =
        awaitScrape(m -> m.sum("registry_proxy_downloads_in_flight", "kind", "blob") == 0);
    assertThat(after.sum("registry_proxy_downloads_in_flight", "kind", "blob", "upstream", UP))
        .isZero();
  }

  @Test
  void readyzTurnsUnreadyWhenTheCacheCannotBeWritten_andBackWhenItCan() throws Exception {
    proxy = ProxyProcess.builder().upstream(UP, up.url()).start();
    assertThat(body(proxy.url() + "/readyz")).isEqualTo("200 ready\n");
    assertThat(body(proxy.url() + "/healthz")).isEqualTo("200 ok\n");
    // Tests run as root, which ignores permission bits: make tmp/ unusable instead.
    Path tmp = proxy.cacheDir().resolve("tmp");
    CacheAssertions.awaitEmptyTmp(proxy.cacheDir());
    Files.delete(tmp);
    Files.writeString(tmp, "a file where the directory was");
    assertThat(body(proxy.url() + "/readyz"))
        .startsWith("503 not ready: cache dir not writable")
        .contains(tmp.toString());
    assertThat(body(proxy.url() + "/healthz")).as("alive though not ready").isEqualTo("200 ok\n");
    Files.delete(tmp);
    Files.createDirectory(tmp);
    assertThat(body(proxy.url() + "/readyz")).isEqualTo("200 ready\n");
  }

  @Test
  void readyzWaitsForTheStartupWarmUp_whoseThrowawayServerLeavesNoTraceInLogMetricsOrCache()
      throws Exception {
    proxy =
        ProxyProcess.builder().upstream(UP, up.url()).extraYaml("startupWarmUp: \"3s\"\n").start();
    assertThat(body(proxy.url() + "/readyz")).isEqualTo("503 not ready: warming up\n");
    byte[] blob = random(100_000, 7);
    String digest = up.putBlob("warm/repo", blob);
    assertThat(get("/v2/" + UP + "/warm/repo/blobs/" + digest).body())
        .as("served while warming up")
        .isEqualTo(blob);

    await()
        .atMost(Duration.ofSeconds(90))
        .until(() -> body(proxy.url() + "/readyz").equals("200 ready\n"));

    assertThat(proxy.log())
        .contains("warm-up done in")
        .doesNotContain("warm-up.local")
        .doesNotContain("warm-up/app");
    assertThat(scrape(proxy.url()).sum("registry_proxy_blob_bytes_total"))
        .as("only the one real pull")
        .isEqualTo((double) blob.length);
    assertThat(proxy.cacheDir().resolve("warm-up")).doesNotExist();
  }

  @Test
  void adminListenerServesMetricsAndHealth_andTheMainListenerLeavesThemToTheRegistryApi() {
    int adminPort = Ports.free();
    proxy =
        ProxyProcess.builder()
            .upstream(UP, up.url())
            .extraYaml("admin:\n  listen: \"127.0.0.1:" + adminPort + "\"\n")
            .start();
    String admin = "http://127.0.0.1:" + adminPort;
    assertThat(scrape(admin).has("jvm_memory_used_bytes")).isTrue();
    assertThat(body(admin + "/healthz")).isEqualTo("200 ok\n");
    assertThat(body(admin + "/readyz")).isEqualTo("200 ready\n");
    assertThat(Http.status(admin + "/v2/")).isEqualTo(404);
    assertThat(Http.status(proxy.url() + "/metrics")).isEqualTo(404);
    assertThat(Http.status(proxy.url() + "/healthz")).isEqualTo(404);
    assertThat(Http.status(proxy.url() + "/v2/")).isEqualTo(200);
  }

  @Test
  void jsonLogFormat_writesOneJsonObjectPerAccessLogLine() throws Exception {
    proxy = ProxyProcess.builder().upstream(UP, up.url()).env("LOG_FORMAT", "json").start();
    HostileRegistry.Image img = up.putImage("json/repo", "v1", random(1_000, 4));
    assertThat(get("/v2/" + UP + "/json/repo/manifests/v1").status()).isEqualTo(200);
    JsonNode access = null;
    try {
      access =
          await()
              .atMost(Duration.ofSeconds(10))
              .pollInterval(Duration.ofMillis(50))
              .until(
                  () -> {
                    JsonNode found = null;
                    for (String line : proxy.log().split("\n")) {
                      if (line.startsWith("{")
                          && line.contains("\"access\"")
                          && line.contains("/manifests/v1")) {
                        found = JSON.readTree(line);
                      }
                    }
                    return found;
                  },
                  java.util.Objects::nonNull);
    } catch (ConditionTimeoutException e) {
      // the assertion below shows the log
    }
    assertThat(access).as("a JSON access log line in:\n" + proxy.log()).isNotNull();
    assertThat(access.path("logger").asText()).isEqualTo("access");
    assertThat(access.path("method").asText()).isEqualTo("GET");
    assertThat(access.path("path").asText()).isEqualTo("/v2/" + UP + "/json/repo/manifests/v1");
    assertThat(access.path("status").asInt()).isEqualTo(200);
    assertThat(access.path("bytes").asLong()).isEqualTo(img.manifest().length);
    assertThat(access.path("cache").asText()).isEqualTo("miss");
    assertThat(access.path("upstream").asText()).isEqualTo(UP);
    assertThat(access.has("duration_ms")).isTrue();
    for (String line : proxy.log().split("\n")) {
      if (!line.isBlank() && !line.startsWith("###")) {
        assertThat(line).as("every log line is JSON").startsWith("{").endsWith("}");
      }
    }
  }
}
