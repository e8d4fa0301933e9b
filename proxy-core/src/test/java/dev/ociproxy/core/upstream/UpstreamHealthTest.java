package dev.ociproxy.core.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

class UpstreamHealthTest {
  @Test
  void aFailedConnectionShowsAsBackingOffWithItsError_andTheGaugeCountsTheSecondsLeft() {
    UpstreamHealth health =
        new UpstreamHealth("up", new RateLimitBudget("up", new SimpleMeterRegistry()));
    assertThat(health.status()).isEqualTo(new UpstreamStatus(null, null, null, 0));

    health.record(
        null, new UpstreamUnavailableException("upstream connection failed: refused", null));

    UpstreamStatus s = health.status();
    assertThat(s.backingOff()).isTrue();
    assertThat(s.lastError()).isEqualTo("upstream connection failed: refused");
    assertThat(s.lastErrorAt()).isNotNull();
    assertThat(s.failures()).isEqualTo(1);
    assertThat(health.backoffSeconds())
        .isGreaterThan(0)
        .isLessThanOrEqualTo(UpstreamHealth.BASE_BACKOFF_MILLIS / 1000.0);
  }
}
