package dev.ociproxy.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ociproxy.core.registry.Freshness;
import dev.ociproxy.core.upstream.RequestLimits;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * An upstream's budget keys (maxConcurrentRequests, requestsPerSecond, freshness): parsed,
 * defaulted, errors name the key.
 */
class UpstreamBudgetConfigTest {
  private static final String UPSTREAM =
      "upstreams:\n  - name: up.test\n    url: http://127.0.0.1:1\n";

  private static ProxyConfig.Upstream parse(String keys) {
    return new ConfigLoader(Map.<String, String>of()::get)
        .parse(UPSTREAM + keys)
        .upstreams()
        .get(0);
  }

  private static void assertRejected(String keys, String key, String detail) {
    assertThatThrownBy(() -> parse(keys))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith(key + ": ")
        .hasMessageContaining(detail);
  }

  @Test
  void withoutTheKeysNothingIsCappedAndOnlyTheDefaultFreshnessRulesApply() {
    ProxyConfig.Upstream u = parse("");

    assertThat(u.requestLimits()).isEqualTo(RequestLimits.unlimited());
    assertThat(u.mirror().freshness()).isEmpty();
  }

  @Test
  void capsAndFreshnessRulesAreReadInOrder() {
    ProxyConfig.Upstream u =
        parse(
            """
            maxConcurrentRequests: 8
            requestsPerSecond: 2.5
            freshness:
              - pattern: latest
                freshness: 1m
              - pattern: "/v?[0-9]+[.][0-9]+[.][0-9]+/"
                freshness: never
              - pattern: "nightly-*"
                freshness: always
        """);

    assertThat(u.requestLimits()).isEqualTo(new RequestLimits(8, 2.5));
    assertThat(u.mirror().freshness())
        .extracting(Freshness.Rule::pattern)
        .containsExactly("latest", "/v?[0-9]+[.][0-9]+[.][0-9]+/", "nightly-*");
    assertThat(u.mirror().freshness())
        .extracting(Freshness.Rule::freshness)
        .containsExactly(Duration.ofMinutes(1), Freshness.NEVER, Freshness.ALWAYS);
  }

  @Test
  void everyErrorNamesItsKey() {
    assertRejected(
        "    maxConcurrentRequests: 0\n", "upstreams[0].maxConcurrentRequests", "positive");
    assertRejected("    requestsPerSecond: fast\n", "upstreams[0].requestsPerSecond", "'fast'");
    assertRejected("    requestsPerSecond: 0\n", "upstreams[0].requestsPerSecond", "> 0");
    assertRejected("    freshness: never\n", "upstreams[0].freshness", "a list");
    assertRejected(
        """
            freshness:
              - pattern: latest
                freshness: 1m
              - pattern: "/v[0-9/"
                freshness: never
        """,
        "upstreams[0].freshness[1].pattern",
        "is not a regular expression");
    assertRejected(
        "    freshness:\n      - pattern: latest\n        freshness: sometimes\n",
        "upstreams[0].freshness[0].freshness",
        "expected never, always or a duration");
    assertRejected(
        "    freshness:\n      - freshness: 1m\n", "upstreams[0].freshness[0].pattern", "missing");
    assertRejected(
        "    freshness:\n      - pattern: x\n        freshness: 1m\n        ttl: 2m\n",
        "upstreams[0].freshness[0].ttl",
        "unknown key");
    assertRejected(
        "    freshness:\n      - latest\n", "upstreams[0].freshness[0]", "expected a mapping");
  }
}
