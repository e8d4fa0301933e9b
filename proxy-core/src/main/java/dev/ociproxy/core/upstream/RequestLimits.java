package dev.ociproxy.core.upstream;

/**
 * Caps on what the proxy asks of one upstream at once ({@code maxConcurrentRequests}) and per
 * second ({@code requestsPerSecond}); requests beyond them queue instead of tripping the upstream's
 * own limits. Zero means no cap.
 */
public record RequestLimits(int maxConcurrentRequests, double requestsPerSecond) {
  public RequestLimits {
    if (maxConcurrentRequests < 0) {
      throw new IllegalArgumentException(
          "maxConcurrentRequests: " + maxConcurrentRequests + " (expected: >= 0)");
    }
    if (!(requestsPerSecond >= 0) || Double.isInfinite(requestsPerSecond)) {
      throw new IllegalArgumentException(
          "requestsPerSecond: " + requestsPerSecond + " (expected: a finite number >= 0)");
    }
  }

  public static RequestLimits unlimited() {
    return new RequestLimits(0, 0);
  }
}
