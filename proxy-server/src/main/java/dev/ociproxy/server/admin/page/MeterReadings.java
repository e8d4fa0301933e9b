package dev.ociproxy.server.admin.page;

import io.micrometer.core.instrument.Measurement;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Statistic;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads the proxy's own meters by name and tags, as Prometheus would, so the page shows the same
 * figures as {@code /metrics} and picks up meters that other parts register later (an upstream's
 * rate-limit budget, say) without knowing those parts. Thread-safe.
 */
final class MeterReadings {
  private final MeterRegistry meters;

  MeterReadings(MeterRegistry meters) {
    this.meters = meters;
  }

  /** Whether a meter of that name (with those tags) exists yet. */
  boolean has(String name, String... tags) {
    return !meters.find(name).tags(tags).meters().isEmpty();
  }

  /**
   * The sum over every meter of that name with those tags: counts for counters and timers, values
   * for gauges.
   */
  double sum(String name, String... tags) {
    double total = 0;
    for (Meter m : meters.find(name).tags(tags).meters()) {
      total += value(m);
    }
    return total;
  }

  /** {@link #sum} split by the value of the tag {@code key}, in key order. */
  Map<String, Double> sumBy(String key, String name, String... tags) {
    Map<String, Double> out = new TreeMap<>();
    for (Meter m : meters.find(name).tags(tags).meters()) {
      String k = m.getId().getTag(key);
      if (k != null) {
        out.merge(k, value(m), Double::sum);
      }
    }
    return out;
  }

  private static double value(Meter m) {
    for (Measurement x : m.measure()) {
      if (x.getStatistic() == Statistic.COUNT || x.getStatistic() == Statistic.VALUE) {
        double v = x.getValue();
        return Double.isNaN(v) ? 0 : v;
      }
    }
    return 0;
  }
}
