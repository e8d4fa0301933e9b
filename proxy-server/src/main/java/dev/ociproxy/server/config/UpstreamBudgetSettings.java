package dev.ociproxy.server.config;

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

  static RequestLimits limits(String key, ConfigFile.Upstream u) {
    int concurrent = ConfigLoader.orElse(u.maxConcurrentRequests(), 0);
    String rps = u.requestsPerSecond();
    double perSecond = 0;
    if (rps != null) {
      try {
        perSecond = Double.parseDouble(rps.trim());
      } catch (NumberFormatException e) {
        perSecond = -1;
      }
      if (!(perSecond > 0) || perSecond > 1_000_000) {
        throw new ConfigException(
            key + ".requestsPerSecond",
            "'" + rps + "' (expected a number > 0 such as 5 or 0.5, at most 1000000)");
      }
    }
    return new RequestLimits(concurrent, perSecond);
  }

  static List<Freshness.Rule> freshness(String key, ConfigFile.Upstream u) {
    List<ConfigFile.FreshnessRule> list = ConfigLoader.orElse(u.freshness(), List.of());
    List<Freshness.Rule> rules = new ArrayList<>();
    for (int i = 0; i < list.size(); i++) {
      String at = key + ".freshness[" + i + "]";
      ConfigFile.FreshnessRule r = list.get(i);
      if (r == null) {
        throw new ConfigException(at, "expected a mapping of keys");
      }
      String pattern = ConfigLoader.required(at + ".pattern", r.pattern());
      Duration freshness =
          duration(at + ".freshness", ConfigLoader.required(at + ".freshness", r.freshness()));
      try {
        rules.add(Freshness.Rule.of(pattern, freshness));
      } catch (IllegalArgumentException e) {
        throw new ConfigException(at + ".pattern", e.getMessage());
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
          yield ConfigBinding.duration(v);
        } catch (IllegalArgumentException e) {
          throw new ConfigException(
              key, "'" + v + "' (expected never, always or a duration such as 30s, 5m, 1h)");
        }
      }
    };
  }
}
