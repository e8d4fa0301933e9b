package dev.ociproxy.core.upstream;

import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.RegistryException;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import org.jspecify.annotations.Nullable;

/**
 * Per-upstream back-off: after a 429, a 502/503/504, a failed connection or a response saying the
 * rate-limit budget is spent ({@link RateLimitBudget}), requests that would reach the upstream fail
 * fast (cached content is still served) until the upstream's {@code Retry-After}, the budget's
 * renewal or an exponential delay has passed. Thread-safe.
 */
final class UpstreamHealth {
  static final long BASE_BACKOFF_MILLIS = 1_000;
  static final long MAX_BACKOFF_MILLIS = 60_000;
  static final long MAX_RETRY_AFTER_MILLIS = 300_000;

  private final String upstream;
  private final RateLimitBudget budget;
  private volatile long blockedUntil;
  private volatile int failures;
  private volatile int blockStatus;
  private volatile @Nullable String reason;
  private volatile long failedAt;

  UpstreamHealth(String upstream, RateLimitBudget budget) {
    this.upstream = upstream;
    this.budget = budget;
  }

  /** The error to answer with while backing off, or null when the upstream may be asked. */
  @Nullable RegistryException blocked() {
    long wait = blockedUntil - System.currentTimeMillis();
    if (wait <= 0) {
      return null;
    }
    long seconds = Math.max(1, (wait + 999) / 1000);
    String msg =
        "upstream " + upstream + " is backing off after " + reason + "; retry in " + seconds + "s";
    return blockStatus == 429
        ? new RegistryException(OciErrorCode.TOOMANYREQUESTS, 429, msg)
        : new RegistryException(OciErrorCode.UNAVAILABLE, 503, msg);
  }

  /** The health now, for people; see {@link UpstreamStatus}. */
  UpstreamStatus status() {
    long until = blockedUntil;
    String why = reason;
    return new UpstreamStatus(
        until > System.currentTimeMillis() ? java.time.Instant.ofEpochMilli(until) : null,
        why,
        why == null ? null : java.time.Instant.ofEpochMilli(failedAt),
        failures);
  }

  /** Seconds of back-off left (0 when requests go out), for the back-off gauge. */
  double backoffSeconds() {
    return Math.max(0, blockedUntil - System.currentTimeMillis()) / 1000.0;
  }

  /** Learns from one response (or failure): its status, and what it says about the rate limit. */
  void record(UpstreamResponse resp, Throwable err) {
    recordStatus(resp, err);
    long pause = resp == null ? 0 : budget.observe(resp.headers());
    if (pause > 0) {
      budgetSpent(pause);
    }
  }

  private void recordStatus(UpstreamResponse resp, Throwable err) {
    if (err != null) {
      Throwable t =
          err.getCause() != null && err instanceof java.util.concurrent.CompletionException
              ? err.getCause()
              : err;
      if (t instanceof UpstreamUnavailableException || t instanceof UpstreamTimeoutException) {
        fail(503, t.getMessage(), null);
      }
      return;
    }
    int s = resp.status();
    if (s == 429) {
      fail(429, "HTTP 429", resp.headers().get("Retry-After"));
    } else if (s == 502 || s == 503 || s == 504) {
      fail(503, "HTTP " + s, resp.headers().get("Retry-After"));
    } else if (s < 500) {
      failures = 0;
    }
  }

  /** The upstream said its budget is spent: nothing is asked for {@code millis}, as after a 429. */
  private void budgetSpent(long millis) {
    reason = "its rate limit was spent";
    failedAt = System.currentTimeMillis();
    blockStatus = 429;
    blockedUntil = Math.max(blockedUntil, System.currentTimeMillis() + millis);
  }

  private void fail(int status, @Nullable String why, @Nullable String retryAfter) {
    int n = Math.min(failures + 1, 30);
    failures = n;
    long delay = retryAfterMillis(retryAfter);
    if (delay < 0) {
      delay = Math.min(MAX_BACKOFF_MILLIS, BASE_BACKOFF_MILLIS << Math.min(n - 1, 16));
    }
    reason = why;
    failedAt = System.currentTimeMillis();
    blockStatus = status;
    blockedUntil = System.currentTimeMillis() + delay;
  }

  /** Parses delta-seconds or an HTTP date; -1 when absent or unreadable. */
  static long retryAfterMillis(@Nullable String v) {
    if (v == null || v.isBlank()) {
      return -1;
    }
    String s = v.trim();
    try {
      return Math.min(MAX_RETRY_AFTER_MILLIS, Duration.ofSeconds(Long.parseLong(s)).toMillis());
    } catch (NumberFormatException | ArithmeticException e) {
      try {
        long at =
            ZonedDateTime.parse(s, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant().toEpochMilli();
        return Math.max(0, Math.min(MAX_RETRY_AFTER_MILLIS, at - System.currentTimeMillis()));
      } catch (DateTimeParseException e2) {
        return -1;
      }
    }
  }
}
