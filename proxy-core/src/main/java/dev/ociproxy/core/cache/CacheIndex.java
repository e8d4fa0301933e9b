package dev.ociproxy.core.cache;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the store within its disk budget: knows every published file's size and last use, and
 * evicts the least recently used ones when over {@code maxSize} — never one that is being served
 * (files being written live in {@code tmp/} and are not in the index at all). Rebuilt from the
 * directory at start-up, in the background. Thread-safe.
 */
public final class CacheIndex implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CacheIndex.class);

  /** Last-use times are written to the file's mtime at most this often, to survive restarts. */
  private static final long PERSIST_TOUCH_MILLIS = 60_000;

  /** Eviction frees down to this fraction of the budget, so it does not run on every publish. */
  private static final double LOW_WATER = 0.9;

  private final Path root;
  private final long maxSize;
  private final ConcurrentHashMap<Path, Entry> entries = new ConcurrentHashMap<>();
  private final AtomicLong total = new AtomicLong();
  private final io.micrometer.core.instrument.Counter evictions;
  private final AtomicBoolean evicting = new AtomicBoolean();
  private final ExecutorService worker =
      Executors.newSingleThreadExecutor(new DefaultThreadFactory("cache-index", true));
  private volatile boolean scanned;

  private static final class Entry {
    final long size;
    volatile long lastUse;
    volatile long persistedUse;
    final AtomicInteger inUse = new AtomicInteger();
    boolean evicted; // guarded by this

    Entry(long size, long lastUse) {
      this.size = size;
      this.lastUse = lastUse;
      this.persistedUse = lastUse;
    }
  }

  /** A file held open for serving; it cannot be evicted until closed. Idempotent close. */
  public static final class Lease implements AutoCloseable {
    private final @Nullable Entry entry;
    private final AtomicBoolean closed = new AtomicBoolean();

    private Lease(@Nullable Entry entry) {
      this.entry = entry;
    }

    @Override
    public void close() {
      if (entry != null && closed.compareAndSet(false, true)) {
        entry.inUse.decrementAndGet();
      }
    }
  }

  /**
   * @param maxSize the budget in bytes; 0 for unlimited
   */
  public CacheIndex(Path root, long maxSize, MeterRegistry meters) {
    this.root = root;
    this.maxSize = maxSize;
    Gauge.builder("registry_proxy_cache_size_bytes", total, AtomicLong::get)
        .description("Bytes of verified content in the cache")
        .register(meters);
    Gauge.builder("registry_proxy_cache_entries", entries, Map::size)
        .description("Files of verified content in the cache")
        .register(meters);
    this.evictions =
        io.micrometer.core.instrument.Counter.builder("registry_proxy_cache_evictions")
            .description("Files evicted to stay within cache.maxSize")
            .register(meters);
  }

  /** Scans {@code blobs/} and {@code manifests/} in the background; returns at once. */
  public CacheIndex start() {
    worker.execute(this::scan);
    return this;
  }

  private void scan() {
    long started = System.nanoTime();
    for (String dir : List.of("blobs", "manifests")) {
      Path base = root.resolve(dir);
      if (!Files.isDirectory(base)) {
        continue;
      }
      try (Stream<Path> files = Files.walk(base)) {
        files
            .filter(Files::isRegularFile)
            .forEach(
                p -> {
                  try {
                    add(p, Files.size(p), Files.getLastModifiedTime(p).toMillis());
                  } catch (IOException e) {
                    log.debug("skipping {}: {}", p, e.toString());
                  }
                });
      } catch (IOException e) {
        log.warn("could not scan {}: {}", base, e.toString());
      }
    }
    scanned = true;
    log.info(
        "cache index: {} files, {} bytes (scanned in {} ms)",
        entries.size(),
        total.get(),
        (System.nanoTime() - started) / 1_000_000);
    evictIfNeeded();
  }

  private void add(Path p, long size, long lastUse) {
    Entry fresh = new Entry(size, lastUse);
    Entry old = entries.put(p, fresh);
    total.addAndGet(size - (old == null ? 0 : old.size));
  }

  /** Records a newly published file and evicts if that took the store over budget. */
  public void published(Path p, long size) {
    add(p, size, System.currentTimeMillis());
    if (maxSize > 0 && total.get() > maxSize) {
      worker.execute(this::evictIfNeeded);
    }
  }

  /**
   * Marks a file as used now and holds it against eviction until the lease is closed; returns null
   * when the file has just been evicted (treat it as not cached).
   */
  public @Nullable Lease use(Path p) {
    Entry e = entries.get(p);
    if (e == null) {
      return new Lease(null); // not indexed yet (start-up scan running): nothing to protect
    }
    synchronized (e) {
      if (e.evicted) {
        return null;
      }
      e.inUse.incrementAndGet();
    }
    long now = System.currentTimeMillis();
    e.lastUse = now;
    if (now - e.persistedUse > PERSIST_TOUCH_MILLIS) {
      e.persistedUse = now;
      try {
        Files.setLastModifiedTime(p, FileTime.fromMillis(now));
      } catch (IOException ignored) {
        // Only the restart ordering suffers.
      }
    }
    return new Lease(e);
  }

  /** Marks a file as used now, for the LRU order. */
  public void touch(Path p) {
    Lease l = use(p);
    if (l != null) {
      l.close();
    }
  }

  /** Drops a file that left the store by other means (quarantine). */
  public void removed(Path p) {
    Entry e = entries.remove(p);
    if (e != null) {
      total.addAndGet(-e.size);
    }
  }

  /** Evicts least recently used, unused files until under the low-water mark. */
  void evictIfNeeded() {
    if (maxSize <= 0
        || !scanned
        || total.get() <= maxSize
        || !evicting.compareAndSet(false, true)) {
      return;
    }
    try {
      long target = (long) (maxSize * LOW_WATER);
      List<Map.Entry<Path, Entry>> byAge = new ArrayList<>(entries.entrySet());
      byAge.sort(Comparator.comparingLong(en -> en.getValue().lastUse));
      for (Map.Entry<Path, Entry> en : byAge) {
        if (total.get() <= target) {
          break;
        }
        Entry e = en.getValue();
        synchronized (e) {
          if (e.inUse.get() > 0 || !entries.remove(en.getKey(), e)) {
            continue;
          }
          e.evicted = true;
        }
        total.addAndGet(-e.size);
        ContentStore.deleteQuietly(en.getKey());
        evictions.increment();
        log.debug("evicted {} ({} bytes)", en.getKey(), e.size);
      }
    } finally {
      evicting.set(false);
    }
  }

  /** Runs {@code task} on the index's background thread (used for start-up verification). */
  public void background(Runnable task) {
    worker.execute(task);
  }

  @Override
  public void close() {
    worker.shutdownNow();
  }
}
