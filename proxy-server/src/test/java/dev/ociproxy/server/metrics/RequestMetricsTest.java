package dev.ociproxy.server.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

/**
 * Finished requests become low-cardinality meters: route, status class, cache outcome, byte source.
 */
class RequestMetricsTest {
  final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  final RequestMetrics metrics = new RequestMetrics(meters);

  @Test
  void blobHit_countsRequestCacheHitAndBytesFromCache() {
    metrics.record("blob", 200, "up.test", "hit", 1234, 1_000_000, false);
    assertThat(
            meters
                .get("registry_proxy_requests")
                .tags(
                    "route", "blob", "status", "2xx", "upstream", "up.test", "outcome", "complete")
                .timer()
                .count())
        .isEqualTo(1);
    assertThat(
            meters
                .get("registry_proxy_cache_requests")
                .tags("kind", "blob", "outcome", "hit", "upstream", "up.test")
                .counter()
                .count())
        .isEqualTo(1);
    assertThat(
            meters
                .get("registry_proxy_served_bytes")
                .tags("kind", "blob", "source", "cache")
                .counter()
                .count())
        .isEqualTo(1234);
  }

  @Test
  void manifestMiss_countsBytesAsPassedOnFromUpstream_andStaleAsCache() {
    metrics.record("manifest", 200, "up.test", "miss", 500, 1, false);
    metrics.record("manifest", 200, "up.test", "stale", 70, 1, false);
    assertThat(
            meters.get("registry_proxy_served_bytes").tags("source", "upstream").counter().count())
        .isEqualTo(500);
    assertThat(meters.get("registry_proxy_served_bytes").tags("source", "cache").counter().count())
        .isEqualTo(70);
    assertThat(
            meters.get("registry_proxy_cache_requests").tags("outcome", "stale").counter().count())
        .isEqualTo(1);
  }

  @Test
  void requestThatNeverLookedAtTheCache_countsOnlyAsARequest() {
    metrics.record("other", 404, "-", "-", 100, 1, false);
    metrics.record("blob", 0, "up.test", "-", 0, 1, true);
    assertThat(meters.get("registry_proxy_requests").tags("status", "4xx").timer().count())
        .isEqualTo(1);
    assertThat(
            meters
                .get("registry_proxy_requests")
                .tags("status", "none", "outcome", "aborted")
                .timer()
                .count())
        .isEqualTo(1);
    assertThat(meters.find("registry_proxy_cache_requests").counters()).isEmpty();
    assertThat(meters.find("registry_proxy_served_bytes").counters()).isEmpty();
  }
}
