package dev.ociproxy.core.cache;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Bounds the received bytes waiting for the disk across all downloads. Each {@link DiskAppender}
 * bounds its own queue, but hundreds of downloads over a slow disk would still pin hundreds of
 * times that in direct memory; over this budget's high mark every appender pauses its upstream
 * until the total is back under the low mark. Thread-safe.
 */
final class WriteBudget {
  private final long high;
  private final long low;
  private final AtomicLong queued = new AtomicLong();
  private final ConcurrentLinkedQueue<Runnable> waiting = new ConcurrentLinkedQueue<>();

  WriteBudget(long high, long low) {
    if (low < 0 || high < low) {
      throw new IllegalArgumentException(
          "high: " + high + ", low: " + low + " (expected: 0 <= low <= high)");
    }
    this.high = high;
    this.low = low;
  }

  /** Counts {@code n} more queued bytes; true when the total is now above the high mark. */
  boolean add(long n) {
    return queued.addAndGet(n) > high;
  }

  /** Counts {@code n} bytes written (or dropped); wakes the waiters once under the low mark. */
  void release(long n) {
    if (queued.addAndGet(-n) <= low) {
      wakeAll();
    }
  }

  boolean belowLow() {
    return queued.get() <= low;
  }

  /** Bytes queued across all downloads now (a gauge). */
  long queued() {
    return queued.get();
  }

  /** Runs {@code r} once, when the total is next under the low mark (at once if it is already). */
  void whenBelowLow(Runnable r) {
    waiting.add(r);
    if (belowLow()) {
      wakeAll(); // a release may have come between the caller's check and the add
    }
  }

  private void wakeAll() {
    Runnable r;
    while ((r = waiting.poll()) != null) {
      r.run();
    }
  }
}
