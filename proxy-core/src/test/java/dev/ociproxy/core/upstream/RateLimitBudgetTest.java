package dev.ociproxy.core.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import org.junit.jupiter.api.Test;

class RateLimitBudgetTest {
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final RateLimitBudget budget = new RateLimitBudget("hub", meters);

  private static HttpHeaders headers(String... pairs) {
    HttpHeaders h = new DefaultHttpHeaders();
    for (int i = 0; i + 1 < pairs.length; i += 2) {
      h.add(pairs[i], pairs[i + 1]);
    }
    return h;
  }

  private double gauge(String name) {
    return meters.get(name).tag("upstream", "hub").gauge().value();
  }

  @Test
  void dockerHubsHeadersBecomeTheGaugesAndABudgetLeftAsksForNoPause() {
    long pause =
        budget.observe(
            headers(
                "ratelimit-limit",
                "100;w=21600",
                "ratelimit-remaining",
                "76;w=21600",
                "docker-ratelimit-source",
                "192.0.2.1"));

    assertThat(pause).isZero();
    assertThat(gauge("registry_proxy_upstream_ratelimit_limit")).isEqualTo(100);
    assertThat(gauge("registry_proxy_upstream_ratelimit_remaining")).isEqualTo(76);
  }

  @Test
  void withoutTheHeadersThereAreNoGauges() {
    assertThat(budget.observe(headers("Content-Type", "application/json"))).isZero();

    assertThat(meters.find("registry_proxy_upstream_ratelimit_limit").gauge()).isNull();
  }

  @Test
  void aSpentBudgetPausesForRetryAfterWhenGiven_elseForTheTimeTheWindowTakesToGiveOneBack() {
    assertThat(
            budget.observe(
                headers(
                    "ratelimit-limit",
                    "100;w=21600",
                    "ratelimit-remaining",
                    "0;w=21600",
                    "Retry-After",
                    "30")))
        .isEqualTo(30_000);
    assertThat(
            budget.observe(
                headers("ratelimit-limit", "100;w=21600", "ratelimit-remaining", "0;w=21600")))
        .as("21600 s / 100")
        .isEqualTo(216_000);
    assertThat(
            budget.observe(
                headers("ratelimit-limit", "10;w=3600", "ratelimit-remaining", "0;w=3600")))
        .as("3600 s / 10 is 360 s, capped at 5 min")
        .isEqualTo(300_000);
    assertThat(budget.observe(headers("ratelimit-remaining", "0")))
        .isEqualTo(RateLimitBudget.DEFAULT_PAUSE_MILLIS);
    assertThat(gauge("registry_proxy_upstream_ratelimit_remaining")).isZero();
  }

  @Test
  void unreadableValuesAreIgnored() {
    assertThat(budget.observe(headers("ratelimit-remaining", "none;w=60"))).isZero();
    assertThat(RateLimitBudget.parse("-1;w=60")).isNull();
    assertThat(RateLimitBudget.parse(" 5 ; w=60 ")).containsExactly(5, 60);
  }
}
