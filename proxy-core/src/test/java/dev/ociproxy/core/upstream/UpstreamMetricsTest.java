package dev.ociproxy.core.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.handler.codec.http.HttpMethod;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

class UpstreamMetricsTest {
  private final MeterRegistry meters = new SimpleMeterRegistry();
  private final UpstreamMetrics metrics = new UpstreamMetrics("docker.io", meters);

  @Test
  void eachRequestIsTimedUnderItsUpstreamMethodAndOutcome() {
    long start = System.nanoTime();
    metrics.finished(HttpMethod.GET, start, null, new UpstreamTimeoutException("first byte"));
    metrics.finished(
        HttpMethod.GET, start, null, new CompletionException(new UpstreamTimeoutException("read")));
    metrics.finished(HttpMethod.HEAD, start, null, new IllegalStateException("reset"));

    assertThat(timed("GET", "timeout")).isEqualTo(2);
    assertThat(timed("HEAD", "error")).isEqualTo(1);
    assertThat(meters.find("registry_proxy_upstream_requests").timers()).hasSize(2);
    assertThat(
            meters
                .get("registry_proxy_upstream_errors")
                .tags("upstream", "docker.io", "reason", "timeout")
                .counter()
                .count())
        .isEqualTo(2);
  }

  private long timed(String method, String outcome) {
    return meters
        .get("registry_proxy_upstream_requests")
        .tags("upstream", "docker.io", "method", method, "outcome", outcome)
        .timer()
        .count();
  }
}
