package dev.ociproxy.core.cache;

import static java.util.Objects.requireNonNull;

import dev.ociproxy.core.oci.Digest;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.UUID;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The verified-only, content-addressed disk cache: {@code blobs/<alg>/<2 hex>/<hex>} and {@code
 * manifests/<alg>/<2 hex>/<hex>}. Content is written under {@code tmp/} and appears under its name
 * only by an atomic rename after it has been verified, so a reader (or a restart after a crash)
 * never finds a partial or unverified file. Thread-safe.
 */
public final class ContentStore {
  private static final Logger log = LoggerFactory.getLogger(ContentStore.class);

  /** Limit on what downloads together keep in memory behind their files. */
  private static final long KEPT_BEHIND_LIMIT = 32 << 20;

  /** Blobs at least this big are written with direct I/O when it is on (smaller ones stay hot). */
  static final long DIRECT_MIN_LENGTH = 1 << 20;

  /** Blobs up to this size are written on the event loop that receives them (see writerFor). */
  static final long INLINE_WRITE_MAX = 256 << 10;

  private final Path root;
  private final Path tmp;
  private final SpareFiles spares;
  private final CacheIndex index;
  private final TagCatalog catalog;

  /** Writes downloads to disk off the event loops; idle threads end after a minute. */
  private final ThreadPoolExecutor writers = newWriterPool();

  /**
   * Received bytes waiting for the disk, all downloads together: 64 MiB of direct buffers at most.
   */
  private final WriteBudget writeBudget = new WriteBudget(64 << 20, 32 << 20);

  /**
   * Received bytes kept in memory behind the files, all downloads together (see ReceivedWindow).
   */
  private final AtomicLong keptBehind = new AtomicLong();

  private final DirectWrites directWrites;
  private final Counter directSwitches;

  /**
   * The staging buffers of direct writes, or null when they are off or unsupported; set by open().
   */
  private volatile @Nullable StagingBuffers staging;

  /** Where verified content is copied for other replicas; set once by the wiring. */
  private volatile Mirror mirror = Mirror.NONE;

  /** A store without a size budget (tests, tools). */
  public ContentStore(Path root) {
    this(
        root, 0, new io.micrometer.core.instrument.simple.SimpleMeterRegistry(), DirectWrites.AUTO);
  }

  /**
   * @param maxSize disk budget in bytes, 0 for unlimited
   * @param directWrites when big blobs are written with {@code O_DIRECT}, where the file system
   *     allows it ({@code cache.directWrites})
   */
  public ContentStore(
      Path root,
      long maxSize,
      io.micrometer.core.instrument.MeterRegistry meters,
      DirectWrites directWrites) {
    this.directWrites = requireNonNull(directWrites, "directWrites");
    this.root = requireNonNull(root, "root").toAbsolutePath();
    this.tmp = this.root.resolve("tmp");
    this.spares = new SpareFiles(this.root.resolve("spare"), background());
    this.index = new CacheIndex(this.root, maxSize, meters);
    this.catalog = new TagCatalog(this.root);
    Gauge.builder("registry_proxy_disk_queue_bytes", writeBudget, WriteBudget::queued)
        .description("Received blob bytes waiting to be written to the cache")
        .register(meters);
    this.directSwitches =
        Counter.builder("registry_proxy_direct_write_switches_total")
            .description(
                "Blob downloads that switched to O_DIRECT because the page cache fell behind")
            .register(meters);
  }

  WriteBudget writeBudget() {
    return writeBudget;
  }

  /**
   * The received-bytes window of a new download, sharing this store's limit on what is kept behind.
   */
  ReceivedWindow newReceivedWindow() {
    return new ReceivedWindow(keptBehind, KEPT_BEHIND_LIMIT);
  }

  /**
   * Where a download of {@code expectedLength} bytes (-1: unknown) runs its file writes, each
   * download's in order, one thread at a time. A small blob is written on the calling event loop:
   * its few page-cache writes cost less than the two thread hand-offs to a writer and back, which
   * on a busy machine are most of a small cold pull's time. Bigger ones go to the writer threads
   * (daemons: a download cut short by exit leaves only a file under tmp/, removed on the next
   * start).
   */
  public Executor writerFor(long expectedLength) {
    return expectedLength >= 0 && expectedLength <= INLINE_WRITE_MAX ? Runnable::run : writers;
  }

  /**
   * Runs small metadata writes (repository links, tag records) off the event loops, on the writer
   * threads; on the calling thread once the store is closed.
   */
  public Executor background() {
    return task -> {
      try {
        writers.execute(task);
      } catch (RejectedExecutionException closed) {
        task.run();
      }
    };
  }

  /** Lets queued writes finish (for up to 10 s), then stops the index. */
  public void close() {
    spares.close();
    writers.shutdown();
    try {
      if (!writers.awaitTermination(10, TimeUnit.SECONDS)) {
        log.warn("cache writes still running after 10 s at close");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    index.close();
  }

  private static ThreadPoolExecutor newWriterPool() {
    int threads = Math.max(2, Runtime.getRuntime().availableProcessors());
    ThreadPoolExecutor pool =
        new ThreadPoolExecutor(
            threads,
            threads,
            60,
            TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(),
            new DefaultThreadFactory("blob-writer", true));
    pool.allowCoreThreadTimeOut(true);
    return pool;
  }

  /** Copies what is verified from now on to {@code mirror} as well (the shared store). */
  public void mirrorTo(Mirror mirror) {
    this.mirror = requireNonNull(mirror, "mirror");
  }

  public Mirror mirror() {
    return mirror;
  }

  public CacheIndex index() {
    return index;
  }

  /** Every upstream's tag records, for browsing; filled on first use (see {@link TagCatalog}). */
  public TagCatalog catalog() {
    return catalog;
  }

  /** Creates the directories and removes temporary files a previous run left behind. */
  public ContentStore open() {
    try {
      Files.createDirectories(root.resolve("blobs"));
      Files.createDirectories(root.resolve("manifests"));
      Files.createDirectories(tmp);
      int removed = removeAll(tmp);
      if (removed > 0) {
        log.info("removed {} unfinished download(s) left in {}", removed, tmp);
      }
      // Spares made ahead by the last run, possibly before a crash: start afresh.
      if (Files.isDirectory(spares.dir())) {
        removeAll(spares.dir());
      }
      int directBlock = directWrites != DirectWrites.NEVER ? DirectIoProbe.blockSize(tmp) : 0;
      staging = directBlock > 0 ? new StagingBuffers(directBlock) : null;
      if (directBlock > 0) {
        log.info(
            "cache.dir {}: blobs of 1 MiB and more are written with O_DIRECT {} ({}-byte blocks)",
            root,
            directWrites == DirectWrites.ALWAYS ? "always" : "once the page cache falls behind",
            directBlock);
      } else if (directWrites != DirectWrites.NEVER) {
        log.info(
            "cache.dir {}: the file system refuses direct I/O; blobs are written through the page cache",
            root);
      }
      index.start();
      return this;
    } catch (IOException e) {
      throw new UncheckedIOException("cache.dir " + root + ": " + e.getMessage(), e);
    }
  }

  private static int removeAll(Path dir) throws IOException {
    int removed = 0;
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
      for (Path p : files) {
        Files.deleteIfExists(p);
        removed++;
      }
    }
    return removed;
  }

  public Path root() {
    return root;
  }

  public Path blobPath(Digest d) {
    return root.resolve("blobs").resolve(relative(d));
  }

  public Path manifestPath(Digest d) {
    return root.resolve("manifests").resolve(relative(d));
  }

  private static Path relative(Digest d) {
    // Digest's hex is validated lowercase hex, so this cannot escape the store.
    return Path.of(d.algorithm().id(), d.hex().substring(0, 2), d.hex());
  }

  /** A fresh, unique temporary file path (not created); recreates tmp/ if someone removed it. */
  public Path newTempFile() {
    Path file = tmp.resolve(UUID.randomUUID() + ".part");
    try {
      Directories.ensureParent(file);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cache.dir " + root + ": cannot create tmp/: " + e.getMessage(), e);
    }
    return file;
  }

  /**
   * A temporary file for a download of {@code expectedLength} bytes (-1: unknown): for a small blob
   * one made ahead when there is one (see {@link SpareFiles}), else a fresh path as {@link
   * #newTempFile()}.
   */
  Path newTempFile(long expectedLength) {
    if (expectedLength >= 0 && expectedLength <= INLINE_WRITE_MAX) {
      Path spare = spares.take();
      if (spare != null) {
        return spare;
      }
    }
    return newTempFile();
  }

  /**
   * Creates the file a blob download writes to: a big (or unannounced) blob with direct I/O, at
   * once or once the page cache falls behind, as configured; a small one through the page cache.
   *
   * @param expectedLength the declared length, or -1
   */
  BlobFile newBlobFile(Path temp, long expectedLength) throws IOException {
    StagingBuffers buffers = staging;
    if (buffers != null && (expectedLength < 0 || expectedLength >= DIRECT_MIN_LENGTH)) {
      return directWrites == DirectWrites.ALWAYS
          ? new DirectBlobFile(temp, buffers)
          : new AdaptiveBlobFile(temp, buffers, directSwitches::increment);
    }
    return BufferedBlobFile.create(temp);
  }

  /**
   * Whether big blobs may be written with direct I/O (configured so, and the file system takes it).
   */
  public boolean writesDirect() {
    return staging != null;
  }

  /** Size of the cached blob, or -1 when it is not cached. */
  public long blobSize(Digest d) {
    return FileChecks.size(blobPath(d));
  }

  /** The cached manifest bytes, or null. */
  public byte @Nullable [] readManifest(Digest d) {
    try {
      return Files.readAllBytes(manifestPath(d));
    } catch (NoSuchFileException e) {
      return null;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Stores verified manifest bytes under their digest. */
  public void putManifest(Digest d, byte[] verified) {
    Path temp = newTempFile();
    try {
      Files.write(temp, verified);
      publish(temp, manifestPath(d));
    } catch (IOException e) {
      deleteQuietly(temp);
      throw new UncheckedIOException(e);
    }
    mirror.manifest(d, verified);
  }

  /** Moves a verified temporary file to {@code target} atomically. */
  public void publish(Path verifiedTemp, Path target) throws IOException {
    Directories.ensureParent(target);
    long size = Files.size(verifiedTemp);
    try {
      Files.move(
          verifiedTemp,
          target,
          StandardCopyOption.ATOMIC_MOVE,
          StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      throw new IOException("cache.dir must be a single file system: " + e.getMessage(), e);
    }
    index.published(target, size);
  }

  /**
   * Re-hashes every stored file in the background and moves any whose content no longer matches its
   * name to {@code quarantine/}, where no reader looks.
   */
  public void verifyInBackground() {
    index.background(() -> new StoreVerifier(root, index).run());
  }

  public static void deleteQuietly(Path p) {
    try {
      Files.deleteIfExists(p);
    } catch (IOException e) {
      log.warn("could not delete {}: {}", p, e.toString());
    }
  }
}
