package dev.ociproxy.core.upstream;

import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * What the proxy knows of an upstream's health now, for people (the status page).
 *
 * @param backingOffUntil until when requests that would reach the upstream fail fast, or null when
 *     they go out
 * @param lastError why the upstream last failed ({@code HTTP 503}, a connection error), or null
 *     when it never has since start
 * @param lastErrorAt when that was, or null
 * @param failures failures in a row; 0 once the upstream answered again
 */
public record UpstreamStatus(
    @Nullable Instant backingOffUntil,
    @Nullable String lastError,
    @Nullable Instant lastErrorAt,
    int failures) {

  public boolean backingOff() {
    return backingOffUntil != null;
  }
}
