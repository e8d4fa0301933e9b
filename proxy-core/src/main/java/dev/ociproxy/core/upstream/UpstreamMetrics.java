package dev.ociproxy.core.upstream;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.netty.handler.codec.http.HttpMethod;
import java.time.Duration;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Meters for requests to one upstream: time until the final response's headers (token flow and
 * redirects included) by status class, and errors by reason. Tags are the configured upstream name,
 * the method and fixed outcome words only. Thread-safe.
 */
final class UpstreamMetrics {
  private static final Logger log = LoggerFactory.getLogger(UpstreamMetrics.class);
  private static final Duration[] BUCKETS = {
    Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50),
    Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1),
    Duration.ofMillis(2500), Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(30),
    Duration.ofSeconds(60),
  };

  private final String upstream;
  private final MeterRegistry meters;

  /**
   * One per method and outcome, a handful, built once: built per request with its bucket list, it
   * was about 2% of the event loop's own time in cold many-layer pulls (perf).
   */
  private final ConcurrentHashMap<TimerKey, Timer> timers = new ConcurrentHashMap<>();

  private record TimerKey(String method, String outcome) {}

  UpstreamMetrics(String upstream, MeterRegistry meters) {
    this.upstream = upstream;
    this.meters = meters;
  }

  /**
   * Registers {@code registry_proxy_upstream_backoff_seconds}: back-off left, 0 when requests go
   * out.
   */
  <T> void backoffGauge(T health, java.util.function.ToDoubleFunction<T> secondsLeft) {
    Gauge.builder("registry_proxy_upstream_backoff_seconds", health, secondsLeft)
        .description(
            "Seconds until requests go to the upstream again after failures (0: not backing off)")
        .tag("upstream", upstream)
        .register(meters);
  }

  String upstream() {
    return upstream;
  }

  /**
   * A response whose framing could let bytes of one response be read as another: one WARN line and
   * {@code registry_proxy_upstream_framing_refusals_total{upstream,reason}}. {@code asked} is the
   * request (method and path, which names the repository); {@code arrived} what came instead.
   */
  void framingRefused(String reason, String asked, String arrived) {
    log.atWarn()
        .addKeyValue("upstream", upstream)
        .addKeyValue("asked", asked)
        .addKeyValue("reason", reason)
        .addKeyValue("arrived", arrived)
        .log(
            "refused upstream connection reuse: upstream={} asked={} reason={} arrived={}; connection closed",
            upstream,
            asked,
            reason,
            arrived);
    Counter.builder("registry_proxy_upstream_framing_refusals")
        .description(
            "Upstream connections closed because a response was framed ambiguously, malformed,"
                + " an unsolicited 1xx, or followed by bytes nobody asked for")
        .tag("upstream", upstream)
        .tag("reason", reason)
        .register(meters)
        .increment();
  }

  /**
   * A redirect or token realm that led to an internal address (see {@link AddressGuard}): one WARN
   * line and {@code registry_proxy_upstream_address_refusals_total{upstream}}.
   */
  void addressRefused(String target, String address) {
    log.warn(
        "refused upstream redirect or realm: upstream={} target={} address={} (internal, and the"
            + " upstream is not; list the host in trustedRealmHosts if it is meant)",
        upstream,
        target,
        address);
    Counter.builder("registry_proxy_upstream_address_refusals")
        .description(
            "Redirects and token realms of an upstream refused because they led to an internal address")
        .tag("upstream", upstream)
        .register(meters)
        .increment();
  }

  /** A request refused locally because the upstream is in back-off. */
  void backingOff() {
    error("backoff");
  }

  void finished(HttpMethod method, long startNanos, UpstreamResponse resp, Throwable err) {
    String outcome;
    if (err == null) {
      int s = resp.status();
      outcome = (s / 100) + "xx";
      if (s == 429) {
        error("http_429");
      } else if (s >= 500) {
        error("http_5xx");
      }
    } else {
      Throwable t =
          err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
      outcome =
          t instanceof UpstreamTimeoutException
              ? "timeout"
              : t instanceof UpstreamUnavailableException ? "unavailable" : "error";
      error(outcome);
    }
    timers
        .computeIfAbsent(new TimerKey(method.name(), outcome), this::timer)
        .record(System.nanoTime() - startNanos, TimeUnit.NANOSECONDS);
  }

  private Timer timer(TimerKey k) {
    return Timer.builder("registry_proxy_upstream_requests")
        .description(
            "Requests to upstreams: time until the final response headers, by status class")
        .tag("upstream", upstream)
        .tag("method", k.method())
        .tag("outcome", k.outcome())
        .serviceLevelObjectives(BUCKETS)
        .register(meters);
  }

  private void error(String reason) {
    Counter.builder("registry_proxy_upstream_errors")
        .description(
            "Upstream requests that failed: timeout, unavailable, http_429, http_5xx, backoff (refused locally), error")
        .tag("upstream", upstream)
        .tag("reason", reason)
        .register(meters)
        .increment();
  }
}
