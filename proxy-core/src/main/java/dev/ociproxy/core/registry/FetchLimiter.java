package dev.ociproxy.core.registry;

import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.RegistryException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Caps the upstream fetches in progress across all upstreams ({@code limits.maxConcurrentFetches});
 * beyond it a request that needs the upstream gets a 503 at once instead of queueing without bound.
 * Cached content is never limited. Thread-safe.
 */
public final class FetchLimiter {
  private final int max;
  private final AtomicInteger inFlight = new AtomicInteger();

  public FetchLimiter(int max) {
    if (max <= 0) {
      throw new IllegalArgumentException("max: " + max + " (expected: > 0)");
    }
    this.max = max;
  }

  public int inFlight() {
    return inFlight.get();
  }

  /** Takes a slot or throws 503; the caller must {@link #release} it exactly once. */
  void acquire() {
    if (inFlight.incrementAndGet() > max) {
      inFlight.decrementAndGet();
      throw new RegistryException(
          OciErrorCode.UNAVAILABLE,
          503,
          "too many upstream fetches in progress (limits.maxConcurrentFetches=" + max + ")");
    }
  }

  void release() {
    inFlight.decrementAndGet();
  }

  /** Runs {@code fetch} holding a slot until its future completes. */
  <T> CompletableFuture<T> run(Supplier<CompletableFuture<T>> fetch) {
    try {
      acquire();
    } catch (RegistryException e) {
      return CompletableFuture.failedFuture(e);
    }
    CompletableFuture<T> f;
    try {
      f = fetch.get();
    } catch (RuntimeException e) {
      release();
      return CompletableFuture.failedFuture(e);
    }
    return f.whenComplete((v, err) -> release());
  }
}
