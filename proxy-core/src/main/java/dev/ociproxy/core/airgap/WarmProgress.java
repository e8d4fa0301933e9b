package dev.ociproxy.core.airgap;

import dev.ociproxy.core.cache.BlobDownload;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Live counters of one warm run: blobs and bytes done out of those known so far (totals grow as
 * manifests are resolved). Bytes of downloads still running count as done as they arrive.
 * Thread-safe; the listener runs on whichever thread finished a blob.
 */
public final class WarmProgress {
  private final AtomicInteger blobsTotal = new AtomicInteger();
  private final AtomicInteger blobsDone = new AtomicInteger();
  private final AtomicInteger blobsFailed = new AtomicInteger();
  private final AtomicLong bytesTotal = new AtomicLong();
  private final AtomicLong bytesDone = new AtomicLong();
  private final Set<BlobDownload> running = ConcurrentHashMap.newKeySet();
  private final Consumer<Snapshot> listener;

  /** A point-in-time view for progress lines. */
  public record Snapshot(
      int blobsDone, int blobsTotal, int blobsFailed, long bytesDone, long bytesTotal) {
    /** {@code 3/8 blobs, 12.5 MiB / 40.1 MiB} (plus failures, when any). */
    public String line() {
      return blobsDone
          + "/"
          + blobsTotal
          + " blobs, "
          + size(bytesDone)
          + " / "
          + size(bytesTotal)
          + (blobsFailed > 0 ? ", " + blobsFailed + " failed" : "");
    }
  }

  public WarmProgress() {
    this(s -> {});
  }

  /**
   * @param listener told after every blob that finished, failed or was found cached
   */
  public WarmProgress(Consumer<Snapshot> listener) {
    this.listener = listener;
  }

  public Snapshot snapshot() {
    long inFlight = 0;
    for (BlobDownload d : running) {
      inFlight += d.written();
    }
    return new Snapshot(
        blobsDone.get(),
        blobsTotal.get(),
        blobsFailed.get(),
        bytesDone.get() + inFlight,
        bytesTotal.get());
  }

  void expect(long size) {
    blobsTotal.incrementAndGet();
    bytesTotal.addAndGet(size);
  }

  void started(BlobDownload d) {
    running.add(d);
  }

  void stopped(BlobDownload d) {
    running.remove(d);
  }

  void done(long size) {
    bytesDone.addAndGet(size);
    blobsDone.incrementAndGet();
    listener.accept(snapshot());
  }

  void failed() {
    blobsFailed.incrementAndGet();
    listener.accept(snapshot());
  }

  /** Bytes in binary units with one decimal, e.g. {@code 12.5 MiB}. */
  public static String size(long bytes) {
    if (bytes < 1024) {
      return bytes + " B";
    }
    String[] units = {"KiB", "MiB", "GiB", "TiB"};
    double v = bytes;
    int u = -1;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
  }
}
