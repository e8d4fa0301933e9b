package dev.ociproxy.core.upstream;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The upstream's own account of its rate limit ({@code ratelimit-limit}, {@code
 * ratelimit-remaining}, {@code docker-ratelimit-source}, as Docker Hub sends them) as gauges, and
 * how long to stop asking once it says the budget is spent. Gauges appear with the first response
 * that carries the headers. Thread-safe.
 */
final class RateLimitBudget {
  private static final Logger log = LoggerFactory.getLogger(RateLimitBudget.class);

  /** Without a window to go by, a spent budget is asked about again after this long. */
  static final long DEFAULT_PAUSE_MILLIS = 60_000;

  static final long MIN_PAUSE_MILLIS = 1_000;

  private final String upstream;
  private final MeterRegistry meters;
  private final AtomicLong limit = new AtomicLong(-1);
  private final AtomicLong remaining = new AtomicLong(-1);
  private volatile boolean registered;

  RateLimitBudget(String upstream, MeterRegistry meters) {
    this.upstream = upstream;
    this.meters = meters;
  }

  /**
   * Reads the headers of one response; returns how long to stop asking (milliseconds) when they say
   * the budget is spent, else 0.
   */
  long observe(HttpHeaders headers) {
    long[] lim = parse(headers.get("ratelimit-limit"));
    long[] rem = parse(headers.get("ratelimit-remaining"));
    if (lim == null && rem == null) {
      return 0;
    }
    register();
    if (lim != null) {
      limit.set(lim[0]);
    }
    if (rem == null) {
      return 0;
    }
    remaining.set(rem[0]);
    if (rem[0] > 0) {
      return 0;
    }
    long pause =
        pauseMillis(
            UpstreamHealth.retryAfterMillis(headers.get("Retry-After")), lim != null ? lim : rem);
    log.warn(
        "upstream {} says its rate limit is spent (ratelimit-limit: {}, source: {}); "
            + "serving only what is cached for {} s",
        upstream,
        headers.get("ratelimit-limit"),
        headers.get("docker-ratelimit-source"),
        (pause + 999) / 1000);
    return pause;
  }

  /**
   * Retry-After when given; else the time a sliding window of {@code w} seconds and {@code limit}
   * requests takes to give one back ({@code w / limit}), at most {@link
   * UpstreamHealth#MAX_RETRY_AFTER_MILLIS}.
   */
  static long pauseMillis(long retryAfterMillis, long[] limitAndWindow) {
    if (retryAfterMillis >= 0) {
      return Math.max(MIN_PAUSE_MILLIS, retryAfterMillis);
    }
    long n = limitAndWindow[0];
    long w = limitAndWindow[1];
    if (n <= 0 || w <= 0) {
      return DEFAULT_PAUSE_MILLIS;
    }
    return Math.max(
        MIN_PAUSE_MILLIS, Math.min(UpstreamHealth.MAX_RETRY_AFTER_MILLIS, w * 1000 / n));
  }

  /** {@code "100;w=21600"} as {count, window seconds (-1 when absent)}; null when unreadable. */
  static long @Nullable [] parse(@Nullable String v) {
    if (v == null) {
      return null;
    }
    String[] parts = v.split(";", -1); // an empty part is no w=, so it is skipped
    try {
      long count = Long.parseLong(parts[0].trim());
      long window = -1;
      for (int i = 1; i < parts.length; i++) {
        String p = parts[i].trim();
        if (p.startsWith("w=")) {
          window = Long.parseLong(p.substring(2).trim());
        }
      }
      return count < 0 ? null : new long[] {count, window};
    } catch (NumberFormatException e) {
      return null;
    }
  }

  private static double known(AtomicLong v) {
    long n = v.get();
    return n < 0 ? Double.NaN : n;
  }

  private void register() {
    if (registered) {
      return;
    }
    registered = true; // Micrometer returns the existing gauge if two threads race here
    Gauge.builder("registry_proxy_upstream_ratelimit_limit", limit, RateLimitBudget::known)
        .description("The upstream's request budget per window, from its ratelimit-limit header")
        .tag("upstream", upstream)
        .register(meters);
    Gauge.builder("registry_proxy_upstream_ratelimit_remaining", remaining, RateLimitBudget::known)
        .description(
            "What is left of the upstream's budget, from its last ratelimit-remaining header")
        .tag("upstream", upstream)
        .register(meters);
  }
}
