package dev.ociproxy.core.cache;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Empty files made ahead, off the event loops, for the downloads of small blobs: the event loop
 * that starts one then opens a file rather than creating it. Creating a file allocates an inode,
 * and on ext4 without a journal that took 190 µs and more under {@code /tmp} on this project's VMs,
 * a quarter of the event loop's time in a cold many-layer pull, with the blob's response waiting
 * for it. At most {@link #KEEP} are kept, refilled on the writer threads once half are taken; they
 * live in their own directory, so {@code tmp/} still holds only downloads in progress, and those
 * left at exit are removed at the next start.
 */
final class SpareFiles {
  private static final Logger log = LoggerFactory.getLogger(SpareFiles.class);

  static final int KEEP = 16;

  private final Path dir;
  private final Executor maker;

  /** At most {@link #KEEP}, so counting them walks a few nodes. */
  private final ConcurrentLinkedQueue<Path> ready = new ConcurrentLinkedQueue<>();

  private final AtomicBoolean making = new AtomicBoolean();
  private volatile boolean closed;

  /**
   * @param dir where the spares are made (on the store's file system, so they can be renamed into
   *     it)
   * @param maker where they are made: the writer threads
   */
  SpareFiles(Path dir, Executor maker) {
    this.dir = dir;
    this.maker = maker;
  }

  /** Where the spares are made. */
  Path dir() {
    return dir;
  }

  /** An empty file for the caller alone, or null when none is ready (create one then). */
  @Nullable Path take() {
    Path p = ready.poll();
    if (ready.size() <= KEEP / 2) {
      refill();
    }
    return p;
  }

  /** Makes spares up to {@link #KEEP} on the maker, unless that is already under way. */
  void refill() {
    if (closed || !making.compareAndSet(false, true)) {
      return;
    }
    try {
      maker.execute(this::make);
    } catch (RejectedExecutionException e) {
      making.set(false); // the store is closing
    }
  }

  private void make() {
    try {
      while (!closed && ready.size() < KEEP) {
        Path p = dir.resolve(UUID.randomUUID() + ".part");
        Directories.ensureParent(p);
        ready.add(Files.createFile(p));
      }
    } catch (IOException e) {
      // Downloads create their own files meanwhile; the next take tries again.
      log.debug("cannot make spare files in {}: {}", dir, e.toString());
    } finally {
      making.set(false);
    }
    if (closed) {
      removeReady();
    }
  }

  /** Removes the spares not taken; none are made after this. */
  void close() {
    closed = true;
    removeReady();
  }

  private void removeReady() {
    for (Path p = ready.poll(); p != null; p = ready.poll()) {
      ContentStore.deleteQuietly(p);
    }
  }
}
