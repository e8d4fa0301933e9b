package dev.ociproxy.it;

import static dev.ociproxy.it.ItFixtures.random;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ociproxy.it.support.Http;
import dev.ociproxy.it.support.ProxyProcess;
import dev.ociproxy.testing.Lie;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;

/**
 * The Grafana dashboard ({@code docker/grafana/registry-proxy-dashboard.json}) and the alert rules
 * beside it query only metrics the real jar exports: each metric name in their PromQL is looked for
 * in {@code /metrics} after a miss, a hit, a refused lie and an upstream 503, so the two cannot
 * drift apart.
 */
class GrafanaDashboardIT extends PerTestHostileUpstream {
  private static final String UP = "up.test";
  private static final Path GRAFANA =
      Path.of(System.getProperty("basedir", ""))
          .toAbsolutePath()
          .getParent()
          .resolve("docker/grafana");
  private static final Pattern IDENTIFIER = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
  private static final Set<String> KEYWORDS =
      Set.of(
          "by",
          "without",
          "on",
          "ignoring",
          "group_left",
          "group_right",
          "bool",
          "offset",
          "and",
          "or",
          "unless",
          "vector",
          "le",
          "inf",
          "nan");

  /**
   * The metric names in a PromQL expression: what is left once label matchers, ranges, grouping
   * clauses, strings and function names are taken out.
   */
  static Set<String> metricNames(String promql) {
    String s =
        promql
            .replaceAll("\"(?:[^\"\\\\]|\\\\.)*\"", "")
            .replaceAll("\\{[^}]*}", " ")
            .replaceAll("\\[[^]]*]", " ")
            .replaceAll("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)", " ");
    Set<String> out = new TreeSet<>();
    Matcher m = IDENTIFIER.matcher(s);
    while (m.find()) {
      boolean function = s.substring(m.end()).stripLeading().startsWith("(");
      if (!function && !KEYWORDS.contains(m.group().toLowerCase(java.util.Locale.ROOT))) {
        out.add(m.group());
      }
    }
    return out;
  }

  private static Set<String> dashboardNames() throws Exception {
    Set<String> names = new TreeSet<>();
    JsonNode dashboard =
        new ObjectMapper().readTree(GRAFANA.resolve("registry-proxy-dashboard.json").toFile());
    for (JsonNode expr : dashboard.findValues("expr")) {
      names.addAll(metricNames(expr.asText()));
    }
    for (String line : Files.readAllLines(GRAFANA.resolve("alerts.yaml"))) {
      if (line.strip().startsWith("expr:")) {
        names.addAll(metricNames(line.strip().substring("expr:".length())));
      }
    }
    return names;
  }

  @Test
  void metricNamesAreFoundInPromQl_notLabelsFunctionsOrRanges() {
    assertThat(
            metricNames(
                "sum by (route, status) (rate(a_total{kind=\"blob\",x=~\"y\"}[$__rate_interval]))"
                    + " / on (kind) histogram_quantile(0.99, b_bucket) or vector(0) > 0"))
        .containsExactly("a_total", "b_bucket");
  }

  @Test
  void everyMetricTheDashboardAndAlertsQueryIsExportedByTheProxy() throws Exception {
    proxy = ProxyProcess.builder().upstream(UP, up.url()).start();
    String base = proxy.url() + "/v2/" + UP + "/dash/repo/blobs/";
    String good = up.putBlob("dash/repo", random(100_000, 1));
    String lie = up.putBlob("dash/repo", random(10_000, 2));
    up.lie(lie, Lie.FLIP_LAST_BYTE);
    String down = up.putBlob("dash/repo", random(10_000, 3));
    up.lie(down, Lie.status(503));
    assertThat(Http.status(base + good)).isEqualTo(200);
    assertThat(Http.status(base + good)).isEqualTo(200);
    Http.status(base + lie);
    Http.status(base + down);
    Set<String> names = dashboardNames();
    assertThat(names)
        .hasSizeGreaterThan(15)
        .contains(
            "registry_proxy_verification_failures_total",
            "registry_proxy_upstream_backoff_seconds",
            "jvm_memory_used_bytes",
            "netty_allocator_memory_used");

    PrometheusText metrics = awaitMetrics(names);

    assertThat(names).allSatisfy(n -> assertThat(metrics.has(n)).as("%s in /metrics", n).isTrue());
  }

  /**
   * Scrapes until every name is there or 20 s pass: a refusal is counted a moment after the answer.
   */
  private PrometheusText awaitMetrics(Set<String> names) {
    try {
      return await()
          .atMost(Duration.ofSeconds(20))
          .pollInterval(Duration.ofMillis(200))
          .until(this::scrape, m -> names.stream().allMatch(m::has));
    } catch (ConditionTimeoutException e) {
      return scrape(); // the caller's assertions say what is missing
    }
  }

  private PrometheusText scrape() {
    return PrometheusText.parse(
        new String(
            Http.tryGet(proxy.url() + "/metrics").orElseThrow().body(), StandardCharsets.UTF_8));
  }
}
