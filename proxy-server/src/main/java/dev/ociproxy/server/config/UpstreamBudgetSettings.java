package dev.ociproxy.server.config;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ociproxy.core.registry.Freshness;
import dev.ociproxy.core.upstream.RequestLimits;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Parses an upstream's budget keys: {@code maxConcurrentRequests}, {@code requestsPerSecond} and
 * the {@code freshness} rules (a list of {@code pattern} and {@code freshness}: a duration, {@code
 * never} or {@code always}). Errors name the key, e.g. {@code upstreams[0].freshness[2].pattern}.
 */
final class UpstreamBudgetSettings {
  private UpstreamBudgetSettings() {}

  static RequestLimits limits(ConfigNode u) {
    int concurrent = u.positiveInt("maxConcurrentRequests", Integer.MAX_VALUE);
    String rps = u.text("requestsPerSecond", null);
    double perSecond = 0;
    if (rps != null) {
      try {
        perSecond = Double.parseDouble(rps.trim());
      } catch (NumberFormatException e) {
        perSecond = -1;
      }
      if (!(perSecond > 0) || perSecond > 1_000_000) {
        throw new ConfigException(u.key("requestsPerSecond"),
            "'" + rps + "' (expected a number > 0 such as 5 or 0.5, at most 1000000)");
      }
    }
    return new RequestLimits(concurrent == Integer.MAX_VALUE ? 0 : concurrent, perSecond);
  }

  static List<Freshness.Rule> freshness(ConfigNode u) {
    JsonNode list = u.node.path("freshness");
    if (list.isMissingNode() || list.isNull()) {
      return List.of();
    }
    if (!list.isArray()) {
      throw new ConfigException(u.key("freshness"),
          "expected a list of {pattern, freshness} (e.g. - pattern: \"v*\"\\n  freshness: never)");
    }
    List<Freshness.Rule> rules = new ArrayList<>();
    for (int i = 0; i < list.size(); i++) {
      ConfigNode r = u.element("freshness", i);
      r.only("pattern", "freshness");
      String pattern = r.required("pattern");
      Duration freshness = duration(r.key("freshness"), r.required("freshness"));
      try {
        rules.add(Freshness.Rule.of(pattern, freshness));
      } catch (IllegalArgumentException e) {
        throw new ConfigException(r.key("pattern"), e.getMessage());
      }
    }
    return List.copyOf(rules);
  }

  private static Duration duration(String key, String v) {
    return switch (v.trim()) {
      case "never" -> Freshness.NEVER;
      case "always" -> Freshness.ALWAYS;
      default -> {
        try {
          yield ConfigLoader.parseDuration(key, v);
        } catch (ConfigException e) {
          throw new ConfigException(key, "'" + v + "' (expected never, always or a duration such as 30s, 5m, 1h)");
        }
      }
    };
  }
}
