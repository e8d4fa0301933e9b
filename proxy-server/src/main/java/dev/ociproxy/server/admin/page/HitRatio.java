package dev.ociproxy.server.admin.page;

import java.time.Duration;
import java.util.ArrayDeque;

/**
 * Cache hit ratios over the last {@link #WINDOW}: samples the hit and request counters every {@link
 * #SAMPLE_EVERY} (the page's scheduler calls {@link #sample}) and compares now with the oldest
 * sample in the window. Thread-safe.
 */
final class HitRatio {
  static final Duration WINDOW = Duration.ofMinutes(5);
  static final Duration SAMPLE_EVERY = Duration.ofSeconds(15);
  static final String REQUESTS = "registry_proxy_cache_requests";

  /** Counters of both kinds at one time. */
  private record Sample(
      long atMillis, double blobHits, double blobs, double manifestHits, double manifests) {}

  /** A ratio over a window; {@code requests} 0 means there is no ratio to show. */
  record Ratio(double hits, double requests, Duration over) {
    String describe() {
      if (requests <= 0) {
        return "no requests in the last " + Html.duration(over);
      }
      return String.format(
          java.util.Locale.ROOT,
          "%.1f%% of %d request(s) in the last %s",
          100 * hits / requests,
          (long) requests,
          Html.duration(over));
    }
  }

  private final MeterReadings meters;
  private final ArrayDeque<Sample> samples = new ArrayDeque<>(); // guarded by itself

  HitRatio(MeterReadings meters) {
    this.meters = meters;
  }

  private Sample read(long now) {
    return new Sample(
        now,
        meters.sum(REQUESTS, "kind", "blob", "outcome", "hit"),
        meters.sum(REQUESTS, "kind", "blob"),
        meters.sum(REQUESTS, "kind", "manifest", "outcome", "hit"),
        meters.sum(REQUESTS, "kind", "manifest"));
  }

  /** Takes a sample now and forgets those older than the window. */
  void sample(long now) {
    Sample s = read(now);
    synchronized (samples) {
      samples.addLast(s);
      while (samples.size() > 1 && now - samples.peekFirst().atMillis() > WINDOW.toMillis()) {
        samples.removeFirst();
      }
    }
  }

  Ratio blobs(long now) {
    return ratio(now, true);
  }

  Ratio manifests(long now) {
    return ratio(now, false);
  }

  private Ratio ratio(long now, boolean blobs) {
    Sample first;
    synchronized (samples) {
      first = samples.peekFirst();
    }
    Sample last = read(now);
    if (first == null) {
      first = new Sample(now, 0, 0, 0, 0);
    }
    Duration over = Duration.ofMillis(Math.max(0, now - first.atMillis()));
    return blobs
        ? new Ratio(last.blobHits() - first.blobHits(), last.blobs() - first.blobs(), over)
        : new Ratio(
            last.manifestHits() - first.manifestHits(), last.manifests() - first.manifests(), over);
  }
}
