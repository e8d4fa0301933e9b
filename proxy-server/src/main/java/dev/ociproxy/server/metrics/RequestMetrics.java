package dev.ociproxy.server.metrics;

import static java.util.Objects.requireNonNull;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;

/**
 * Meters for finished client requests: count and duration by route and status class, cache outcome
 * by kind, and bytes served from the cache versus passed on from an upstream fetch. Tags are
 * low-cardinality by construction (route names, status classes, configured upstream names);
 * repository names and digests never become tags. Thread-safe.
 */
public final class RequestMetrics {
  private record TimerKey(String route, String status, String upstream, boolean aborted) {}

  private record CounterKey(String name, String kind, String outcome, String upstream) {}

  private final MeterRegistry meters;
  // Looked up per request: a map hit is far cheaper than a builder, tag sorting and registry
  // lookup.
  private final ConcurrentMap<TimerKey, Timer> timers = new ConcurrentHashMap<>();
  private final ConcurrentMap<CounterKey, Counter> counters = new ConcurrentHashMap<>();

  public RequestMetrics(MeterRegistry meters) {
    this.meters = requireNonNull(meters, "meters");
  }

  /**
   * One finished (or aborted) request.
   *
   * @param route base, manifest, blob, tags or other
   * @param status the HTTP status sent, 0 when none was
   * @param upstream the configured upstream name, or "-" when the request named none
   * @param cache hit, miss, stale or "-" when the request did not look at the cache
   * @param bytes body bytes sent
   */
  public void record(
      String route,
      int status,
      String upstream,
      String cache,
      long bytes,
      long durationNanos,
      boolean aborted) {
    timers
        .computeIfAbsent(new TimerKey(route, statusClass(status), upstream, aborted), this::timer)
        .record(durationNanos, TimeUnit.NANOSECONDS);
    String kind = route.equals("manifest") || route.equals("blob") ? route : null;
    if (kind == null || cache.equals("-")) {
      return;
    }
    counters
        .computeIfAbsent(new CounterKey("cache_requests", kind, cache, upstream), this::counter)
        .increment();
    if (bytes > 0) {
      String source = cache.equals("miss") ? "upstream" : "cache";
      counters
          .computeIfAbsent(new CounterKey("served_bytes", kind, source, upstream), this::counter)
          .increment((double) bytes); // exact up to 2^53 bytes
    }
  }

  private Timer timer(TimerKey k) {
    return Timer.builder("registry_proxy_requests")
        .description("Client requests by route, status class and upstream, with their duration")
        .tag("route", k.route())
        .tag("status", k.status())
        .tag("upstream", k.upstream())
        .tag("outcome", k.aborted() ? "aborted" : "complete")
        .serviceLevelObjectives(ServerMeters.DURATION_BUCKETS)
        .register(meters);
  }

  private Counter counter(CounterKey k) {
    if (k.name().equals("cache_requests")) {
      return Counter.builder("registry_proxy_cache_requests")
          .description(
              "Manifest and blob requests by cache outcome: hit, miss (fetched upstream) or stale")
          .tag("kind", k.kind())
          .tag("outcome", k.outcome())
          .tag("upstream", k.upstream())
          .register(meters);
    }
    return Counter.builder("registry_proxy_served_bytes")
        .description(
            "Body bytes sent to clients, from the cache or passed on from an upstream fetch")
        .baseUnit("bytes")
        .tag("kind", k.kind())
        .tag("source", k.outcome())
        .tag("upstream", k.upstream())
        .register(meters);
  }

  static String statusClass(int status) {
    return status >= 100 && status <= 599 ? (status / 100) + "xx" : "none";
  }
}
