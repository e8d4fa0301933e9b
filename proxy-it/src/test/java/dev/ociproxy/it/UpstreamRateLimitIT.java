package dev.ociproxy.it;

import static dev.ociproxy.it.ItFixtures.random;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.it.support.Http;
import dev.ociproxy.it.support.ProxyProcess;
import dev.ociproxy.testing.HostileRegistry;
import dev.ociproxy.testing.Lie;
import dev.ociproxy.testing.RawHttpClient;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The real proxy in front of the hostile upstream keeping Docker Hub's budget (manifest GETs count,
 * rate-limit headers on every answer, 429 once spent) and counting how many requests it serves at
 * once: a spent budget stops requests and serves stale, the gauges show the budget, and the
 * per-upstream concurrency cap queues cold pulls while cached content flows.
 */
class UpstreamRateLimitIT extends PerTestHostileUpstream {
  private static final String UP = "limited.test";

  private RawHttpClient.Response get(String path, String... headers) throws IOException {
    try (RawHttpClient c = new RawHttpClient("127.0.0.1", proxy.port(), Duration.ofSeconds(60))) {
      return c.get(path, headers);
    }
  }

  private PrometheusText scrape() {
    HttpResponse<byte[]> r =
        Http.tryGet(proxy.url() + "/metrics").orElseThrow(() -> new AssertionError("no /metrics"));
    return PrometheusText.parse(new String(r.body(), StandardCharsets.UTF_8));
  }

  @Test
  void aSpentBudgetStopsRequestsAndServesStaleWithWarnings_andTheGaugesShowTheBudget()
      throws Exception {
    proxy = ProxyProcess.builder().upstream(UP, up.url()).cacheOption("tagTtl", "0s").start();
    HostileRegistry.Image img = up.putImage("site/app", "latest", random(5_000, 1));
    up.putImage("site/app", "other", random(5_000, 2));
    up.rateLimit(10, 1, 3600);
    String base = "/v2/" + UP + "/site/app/manifests/";

    RawHttpClient.Response last = get(base + "latest"); // the budget's last pull: remaining 0
    assertThat(last.status()).isEqualTo(200);
    PrometheusText m = scrape();
    assertThat(m.sum("registry_proxy_upstream_ratelimit_limit", "upstream", UP)).isEqualTo(10);
    assertThat(m.sum("registry_proxy_upstream_ratelimit_remaining", "upstream", UP)).isZero();
    up.clearRequests();

    RawHttpClient.Response stale = get(base + "latest");
    RawHttpClient.Response never = get(base + "other");

    assertThat(stale.status()).isEqualTo(200);
    assertThat(stale.header("Docker-Content-Digest")).contains(img.manifestDigest());
    assertThat(stale.header("Warning")).hasValueSatisfying(w -> assertThat(w).startsWith("110"));
    assertThat(stale.header("X-Registry-Proxy-Stale")).contains("true");
    assertThat(never.status()).isEqualTo(429);
    assertThat(never.bodyText()).contains("TOOMANYREQUESTS");
    assertThat(up.requests()).as("the upstream is not asked while the budget is spent").isEmpty();
    assertThat(up.rateLimitRemaining()).isZero();
  }

  @Test
  void theConcurrencyCapHoldsUnder32ConcurrentColdPulls_whileACachedBlobIsServedAtOnce()
      throws Exception {
    proxy =
        ProxyProcess.builder()
            .upstream(UP, up.url())
            .upstreamOption("maxConcurrentRequests", "4")
            .start();
    String cached = up.putBlob("site/app", random(50_000, 99));
    assertThat(get("/v2/" + UP + "/site/app/blobs/" + cached).status()).isEqualTo(200);
    List<String> cold = new ArrayList<>();
    for (int i = 0; i < 32; i++) {
      String d = up.putBlob("site/app", random(100_000, 100 + i));
      // Each cold pull holds its upstream slot for a second: 32 behind a cap of 4 take 8 s or more.
      up.lie(d, Lie.delayHeaders(Duration.ofSeconds(1)));
      cold.add(d);
    }

    List<Future<RawHttpClient.Response>> pulls = new ArrayList<>();
    for (String d : cold) {
      pulls.add(pool.submit(() -> get("/v2/" + UP + "/site/app/blobs/" + d)));
    }
    double queued = 0;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (queued == 0 && System.nanoTime() < deadline) {
      queued = scrape().sum("registry_proxy_upstream_queued_requests", "upstream", UP);
    }
    RawHttpClient.Response hit = get("/v2/" + UP + "/site/app/blobs/" + cached);
    // Not a timing bound (this machine is noisy): the cached blob is answered while cold pulls
    // still
    // wait for the upstream, which a cached read queued behind them could never be.
    long coldDoneWhenHitAnswered = pulls.stream().filter(Future::isDone).count();
    for (Future<RawHttpClient.Response> f : pulls) {
      RawHttpClient.Response r = f.get(60, TimeUnit.SECONDS);
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.body()).hasSize(100_000);
    }

    assertThat(queued).as("cold pulls waited in line").isGreaterThan(0);
    assertThat(hit.status()).isEqualTo(200);
    assertThat(coldDoneWhenHitAnswered)
        .as("the cached blob did not wait behind them")
        .isLessThan(cold.size() / 2);
    assertThat(up.peakConcurrentRequests()).isBetween(2, 4);
    assertThat(up.count("GET", "/v2/site/app/blobs/")).isEqualTo(33);
    assertThat(scrape().sum("registry_proxy_upstream_queued_requests", "upstream", UP)).isZero();
  }
}
