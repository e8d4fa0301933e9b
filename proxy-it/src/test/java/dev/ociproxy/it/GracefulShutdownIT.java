package dev.ociproxy.it;

import static dev.ociproxy.it.CacheAssertions.assertCached;
import static dev.ociproxy.it.CacheAssertions.assertNotCached;
import static dev.ociproxy.it.ItFixtures.random;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.ociproxy.it.support.Http;
import dev.ociproxy.it.support.ProxyProcess;
import dev.ociproxy.testing.Lie;
import dev.ociproxy.testing.RawHttpClient;
import java.time.Duration;
import java.util.OptionalInt;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * SIGTERM to the real jar during a slow transfer: the listener closes at once, the transfer
 * finishes (or is cut at {@code shutdownGracePeriod}), the process exits 0, and the cache holds
 * only verified content.
 */
class GracefulShutdownIT extends PerTestHostileUpstream {
  private static final String UP = "up.test";

  private Future<RawHttpClient.Response> getAsync(String path) {
    int port = proxy.port();
    return pool.submit(
        () -> {
          try (RawHttpClient c = new RawHttpClient("127.0.0.1", port, Duration.ofSeconds(60))) {
            return c.get(path);
          }
        });
  }

  private void awaitUpstreamBytes(String pathPrefix, long bytes) {
    await("the upstream transfer to start")
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(20))
        .until(
            () ->
                up.requests("GET", pathPrefix).stream()
                    .anyMatch(q -> q.bodyBytesWritten() >= bytes));
  }

  @Test
  void sigtermDuringASlowTransfer_stopsAccepting_letsItFinish_andExitsZero() throws Exception {
    proxy =
        ProxyProcess.builder()
            .upstream(UP, up.url())
            .extraYaml("shutdownGracePeriod: 60s\n")
            .start();
    byte[] blob = random(4_000, 1);
    String digest = up.putBlob("slow/repo", blob);
    up.lie(digest, Lie.trickle(Duration.ofMillis(1)));
    Future<RawHttpClient.Response> transfer = getAsync("/v2/" + UP + "/slow/repo/blobs/" + digest);
    awaitUpstreamBytes("/v2/slow/repo/blobs/", 300);

    proxy.process().sigterm();
    assertThat(Http.awaitDown(proxy.url() + "/v2/", Duration.ofSeconds(10)))
        .as("listener closed")
        .isTrue();
    assertThat(transfer.isDone())
        .as("the transfer is still running after the listener closed")
        .isFalse();

    RawHttpClient.Response r = transfer.get(60, TimeUnit.SECONDS);
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.complete()).as(r.problem()).isTrue();
    assertThat(r.body()).isEqualTo(blob);
    OptionalInt exit = proxy.process().awaitExit(Duration.ofSeconds(30));
    assertThat(exit).as("exit status").hasValue(0);
    assertCached(proxy.cacheDir(), "blobs", digest);
    assertThat(proxy.log()).contains("shutting down: all responses finished");
    assertThat(proxy.log().lines().filter(l -> l.contains("/slow/repo/blobs/")))
        .as("access log of the finished transfer")
        .singleElement()
        .asString()
        .doesNotEndWith("aborted");
  }

  @Test
  void
      sigtermWithATransferOutlastingTheGracePeriod_cutsItAtTheDeadline_exitsZero_andCachesNothingHalfDone()
          throws Exception {
    proxy =
        ProxyProcess.builder()
            .upstream(UP, up.url())
            .extraYaml("shutdownGracePeriod: 2s\n")
            .start();
    byte[] blob = random(60_000, 2);
    String digest = up.putBlob("slower/repo", blob);
    up.lie(digest, Lie.trickle(Duration.ofMillis(1)));
    Future<RawHttpClient.Response> transfer =
        getAsync("/v2/" + UP + "/slower/repo/blobs/" + digest);
    awaitUpstreamBytes("/v2/slower/repo/blobs/", 300);

    long t0 = System.nanoTime();
    proxy.process().sigterm();
    OptionalInt exit = proxy.process().awaitExit(Duration.ofSeconds(30));
    Duration took = Duration.ofNanos(System.nanoTime() - t0);
    assertThat(exit).as("exit status").hasValue(0);
    assertThat(took)
        .as("exited at the deadline, not after the transfer")
        .isLessThan(Duration.ofSeconds(15));
    RawHttpClient.Response r = transfer.get(30, TimeUnit.SECONDS);
    assertThat(r.complete()).as("the cut transfer must not look whole").isFalse();
    assertThat(proxy.log()).contains("still busy after 2000 ms");

    proxy.start(); // same cache directory: start-up cleans tmp/
    assertNotCached(proxy.cacheDir(), digest);
    up.unlie(digest);
    try (RawHttpClient c = new RawHttpClient("127.0.0.1", proxy.port(), Duration.ofSeconds(60))) {
      assertThat(c.get("/v2/" + UP + "/slower/repo/blobs/" + digest).body()).isEqualTo(blob);
    }
  }

  @Test
  void sigtermWhenIdle_exitsZeroPromptly() {
    proxy = ProxyProcess.builder().upstream(UP, up.url()).start();
    proxy.process().sigterm();
    assertThat(proxy.process().awaitExit(Duration.ofSeconds(15))).hasValue(0);
  }
}
