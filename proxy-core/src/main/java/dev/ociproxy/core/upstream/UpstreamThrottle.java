package dev.ociproxy.core.upstream;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.ArrayDeque;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Admits requests to one upstream within its {@link RequestLimits}: at most so many at once (a
 * request holds its place until its response body has been read, since the upstream is busy until
 * then) and starts spaced by {@code 1 / requestsPerSecond}. The rest wait in order, without
 * blocking a thread. Thread-safe.
 */
final class UpstreamThrottle {
  private static final CompletableFuture<Runnable> NO_LIMITS =
      CompletableFuture.completedFuture(() -> {});

  private final int maxConcurrent;
  private final long intervalNanos;
  private final Queue<CompletableFuture<Void>> waiting = new ArrayDeque<>(); // guarded by this
  private final AtomicInteger queued = new AtomicInteger();
  private int running; // guarded by this
  private long nextStartNanos; // guarded by this

  UpstreamThrottle(String upstream, RequestLimits limits, MeterRegistry meters) {
    this.maxConcurrent =
        limits.maxConcurrentRequests() == 0 ? Integer.MAX_VALUE : limits.maxConcurrentRequests();
    this.intervalNanos =
        limits.requestsPerSecond() == 0
            ? 0
            : (long) (TimeUnit.SECONDS.toNanos(1) / limits.requestsPerSecond());
    Gauge.builder("registry_proxy_upstream_queued_requests", queued, AtomicInteger::get)
        .description(
            "Requests waiting for their turn under the upstream's maxConcurrentRequests and requestsPerSecond")
        .tag("upstream", upstream)
        .register(meters);
  }

  /**
   * Sends a request when its turn comes; it keeps its place until its response body has been read,
   * failed or been dropped, since the upstream is busy with it until then.
   */
  CompletableFuture<UpstreamResponse> run(Supplier<CompletableFuture<UpstreamResponse>> send) {
    return admit()
        .thenCompose(
            release -> {
              CompletableFuture<UpstreamResponse> f;
              try {
                f = send.get();
              } catch (RuntimeException e) {
                release.run();
                return CompletableFuture.failedFuture(e);
              }
              return f.whenComplete(
                  (resp, err) -> {
                    if (err != null) {
                      release.run();
                    } else {
                      resp.whenEnded(release);
                    }
                  });
            });
  }

  /** Completes when a request may start, with the action that gives its place back (idempotent). */
  private CompletableFuture<Runnable> admit() {
    if (maxConcurrent == Integer.MAX_VALUE && intervalNanos == 0) {
      return NO_LIMITS;
    }
    CompletableFuture<Void> turn = new CompletableFuture<>();
    synchronized (this) {
      if (running < maxConcurrent) {
        running++;
        turn.complete(null);
      } else {
        queued.incrementAndGet();
        waiting.add(turn);
      }
    }
    AtomicBoolean released = new AtomicBoolean();
    Runnable release =
        () -> {
          if (released.compareAndSet(false, true)) {
            release();
          }
        };
    return turn.thenCompose(v -> paced()).thenApply(v -> release);
  }

  private CompletableFuture<Void> paced() {
    if (intervalNanos == 0) {
      return CompletableFuture.completedFuture(null);
    }
    long now = System.nanoTime();
    long wait;
    synchronized (this) {
      long at = Math.max(now, nextStartNanos);
      nextStartNanos = at + intervalNanos;
      wait = at - now;
    }
    if (wait <= 0) {
      return CompletableFuture.completedFuture(null);
    }
    queued.incrementAndGet();
    return CompletableFuture.runAsync(
        queued::decrementAndGet, CompletableFuture.delayedExecutor(wait, TimeUnit.NANOSECONDS));
  }

  private void release() {
    CompletableFuture<Void> next;
    synchronized (this) {
      next = waiting.poll();
      if (next == null) {
        running--;
        return;
      }
    }
    queued.decrementAndGet();
    next.complete(null); // the place passes on: running stays the same
  }
}
