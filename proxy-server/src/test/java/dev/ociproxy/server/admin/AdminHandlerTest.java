package dev.ociproxy.server.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.ociproxy.server.health.Readiness;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** /metrics, /healthz and /readyz answered in the pipeline; everything else untouched. */
class AdminHandlerTest {
  @TempDir Path cache;
  PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  Readiness readiness;

  @BeforeEach
  void cacheDir() throws Exception {
    Files.createDirectories(cache.resolve("tmp"));
    readiness = new Readiness(cache, 1, () -> false);
  }

  @AfterEach
  void close() {
    readiness.close();
  }

  private EmbeddedChannel channel(boolean passOthers) {
    return new EmbeddedChannel(new AdminHandler(meters::scrape, readiness, passOthers));
  }

  private static HttpRequest get(String uri) {
    return new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, uri);
  }

  /** Waits for the (possibly asynchronous) response. */
  private static FullHttpResponse response(EmbeddedChannel ch) {
    // The channel is not thread-safe: poll it from the test's own thread.
    return await("a response")
        .atMost(Duration.ofSeconds(5))
        .pollInterval(Duration.ofMillis(10))
        .pollInSameThread()
        .until(
            () -> {
              ch.runPendingTasks();
              return ch.<FullHttpResponse>readOutbound();
            },
            Objects::nonNull);
  }

  private static String body(FullHttpResponse r) {
    try {
      return r.content().toString(StandardCharsets.UTF_8);
    } finally {
      r.release();
    }
  }

  @Test
  void metrics_areTheRegistrysPrometheusText() throws Exception {
    meters.counter("registry_proxy_test_things").increment(3);
    EmbeddedChannel ch = channel(true);
    ch.writeInbound(get("/metrics"));
    FullHttpResponse r = response(ch);
    assertThat(r.status().code()).isEqualTo(200);
    assertThat(r.headers().get("Content-Type")).startsWith("text/plain; version=0.0.4");
    assertThat(body(r)).contains("registry_proxy_test_things_total 3.0");
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }

  @Test
  void healthz_isOk() throws Exception {
    EmbeddedChannel ch = channel(true);
    ch.writeInbound(get("/healthz?verbose=1"));
    FullHttpResponse r = response(ch);
    assertThat(r.status().code()).isEqualTo(200);
    assertThat(body(r)).isEqualTo("ok\n");
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }

  @Test
  void readyz_isOkWithAWritableCache_and503WithTheReasonOtherwise() throws Exception {
    EmbeddedChannel ch = channel(true);
    ch.writeInbound(get("/readyz"));
    FullHttpResponse ok = response(ch);
    assertThat(ok.status().code()).isEqualTo(200);
    ok.release();
    Files.delete(cache.resolve("tmp"));
    Files.writeString(cache.resolve("tmp"), "a file where the directory was");
    ch.writeInbound(get("/readyz"));
    FullHttpResponse bad = response(ch);
    assertThat(bad.status().code()).isEqualTo(503);
    assertThat(body(bad)).startsWith("not ready: cache dir not writable");
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }

  @Test
  void registryRequests_passThroughUntouched_onTheMainListener() {
    EmbeddedChannel ch = channel(true);
    HttpRequest req = get("/v2/metrics/manifests/latest");
    ch.writeInbound(req);
    Object passed = ch.readInbound();
    assertThat(passed).isSameAs(req);
    io.netty.util.ReferenceCountUtil.release(passed);
    assertThat((Object) ch.readOutbound()).isNull();
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }

  @Test
  void otherPaths_are404_onTheAdminListener() throws Exception {
    EmbeddedChannel ch = channel(false);
    ch.writeInbound(get("/v2/"));
    FullHttpResponse r = response(ch);
    assertThat(r.status().code()).isEqualTo(404);
    r.release();
    assertThat((Object) ch.readInbound()).isNull();
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }

  @Test
  void post_isRefused() throws Exception {
    EmbeddedChannel ch = channel(true);
    ch.writeInbound(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/metrics"));
    FullHttpResponse r = response(ch);
    assertThat(r.status().code()).isEqualTo(405);
    r.release();
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }
}
