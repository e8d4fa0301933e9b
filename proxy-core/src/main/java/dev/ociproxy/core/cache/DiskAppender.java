package dev.ociproxy.core.cache;

import dev.ociproxy.core.upstream.BodyFlow;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * Appends a download's bytes to its file on a writer thread, in arrival order, so the event loop
 * that receives and hashes them never waits for the disk (and, on two cores, hashing and writing
 * overlap). It holds the received buffers themselves, no copy, and at most about {@link
 * #HIGH_WATER} bytes of them: above that, or while the {@link WriteBudget} shared by all downloads
 * is spent, it pauses the upstream; once both are back under their low marks it resumes it. At most
 * one writer thread works on one appender at a time.
 *
 * <p>Thread-safe: {@link #append} and {@link #then} are called from the event loop, the rest from
 * anywhere.
 */
final class DiskAppender {
  static final long HIGH_WATER = 8 << 20;
  static final long LOW_WATER = 2 << 20;

  private final BlobFile out;
  private final Executor executor;
  private final WriteBudget budget;
  private final Runnable onProgress;
  private final Consumer<IOException> onError;

  /** Chunks ({@link ByteBuf}) and final actions ({@link Runnable}), in the order they came. */
  private final ConcurrentLinkedQueue<Object> queue = new ConcurrentLinkedQueue<>();

  private final AtomicLong queued = new AtomicLong();
  private final AtomicBoolean draining = new AtomicBoolean();
  private final AtomicBoolean paused = new AtomicBoolean();
  private final AtomicBoolean waitingForBudget = new AtomicBoolean();
  private volatile @Nullable BodyFlow flow;
  private volatile boolean discarded;

  /**
   * @param onProgress run on the writer after every write
   * @param onError run on the writer when a write fails; nothing more is written after it
   */
  DiskAppender(
      BlobFile out,
      Executor executor,
      WriteBudget budget,
      Runnable onProgress,
      Consumer<IOException> onError) {
    this.out = out;
    this.executor = executor;
    this.budget = budget;
    this.onProgress = onProgress;
    this.onError = onError;
  }

  /** How to pause the producer when the disk falls behind; without one, nothing is paused. */
  void flow(BodyFlow f) {
    this.flow = f;
  }

  /** Bytes on disk so far (readable through another channel on the same file). */
  long written() {
    return out.durable();
  }

  /** Queues {@code chunk}'s readable bytes; takes a reference of its own, the caller keeps its. */
  void append(ByteBuf chunk) {
    if (discarded) {
      return;
    }
    int n = chunk.readableBytes();
    // Counted before the writer can see the chunk, so its release never runs ahead of the count.
    boolean overBudget = budget.add(n);
    boolean overOwn = queued.addAndGet(n) > HIGH_WATER;
    queue.add(chunk.retain());
    if (overOwn) {
      out.fallingBehind();
    }
    BodyFlow f = flow;
    if ((overOwn || overBudget) && f != null && paused.compareAndSet(false, true)) {
      f.pause();
      resumeIfDrained(); // the writer may have caught up before the flag was set
    }
    kick();
  }

  /**
   * Runs {@code action} on the writer once everything appended so far is on disk (not if
   * discarded).
   */
  void then(Runnable action) {
    queue.add(action); // behind every chunk appended before it: the queue is the order
    kick();
  }

  /** Drops what is queued and writes nothing more. */
  void discard() {
    discarded = true;
    kick(); // releases the queued buffers on the writer, which owns them
  }

  private void kick() {
    if (draining.compareAndSet(false, true)) {
      executor.execute(this::drain);
    }
  }

  private void drain() {
    do {
      Object next;
      while ((next = queue.poll()) != null) {
        if (next instanceof Runnable action) {
          if (!discarded) {
            action.run();
          }
          continue;
        }
        ByteBuf b = (ByteBuf) next;
        int n = b.readableBytes();
        try {
          if (!discarded) {
            long before = out.durable();
            for (ByteBuffer nio : b.nioBuffers(b.readerIndex(), n)) {
              out.append(nio);
            }
            if (out.durable() != before) {
              onProgress.run();
            }
          }
        } catch (IOException e) {
          failed(e);
        } finally {
          b.release();
        }
        queued.addAndGet(-n);
        budget.release(n);
        resumeIfDrained();
      }
      if (!discarded) {
        try {
          long before = out.durable();
          out.flush(); // nothing more queued: write what the file can take now
          if (out.durable() != before) {
            onProgress.run();
          }
        } catch (IOException e) {
          failed(e);
        }
      }
      draining.set(false);
    } while (!queue.isEmpty() && draining.compareAndSet(false, true));
  }

  /** Resumes the upstream once this queue and the shared budget are both under their low marks. */
  private void resumeIfDrained() {
    BodyFlow f = flow;
    if (f == null || !paused.get() || queued.get() > LOW_WATER) {
      return; // this appender's own writes call again as its queue drains
    }
    if (!budget.belowLow()) {
      // Nothing of ours may be left to write: the budget calls back when other downloads drain.
      if (waitingForBudget.compareAndSet(false, true)) {
        budget.whenBelowLow(
            () -> {
              waitingForBudget.set(false);
              resumeIfDrained();
            });
      }
      return;
    }
    if (paused.compareAndSet(true, false)) {
      f.resume();
    }
  }

  private void failed(IOException e) {
    discarded = true;
    onError.accept(e);
  }
}
