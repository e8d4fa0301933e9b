package dev.ociproxy.core.cache;

import io.netty.buffer.ByteBuf;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * The received bytes of a download that are kept in memory for the clients being served it: every
 * byte not yet in the file, and a little behind that so a client lagging slightly does not drop to
 * reading the file. A client that keeps up with the upstream is sent these buffers themselves, so
 * the bytes it gets never take a round trip through the file. What is not yet in the file is
 * bounded by {@link DiskAppender}; what is kept behind it, by {@link #KEEP_BEHIND} per download and
 * a total shared by all downloads, beyond which each keeps only what is not yet in the file.
 * Thread-safe: chunks are added on the upstream event loop, trimmed on the writer, sliced on the
 * clients' loops.
 */
final class ReceivedWindow {
  /** Bytes kept after they are in the file. */
  static final long KEEP_BEHIND = 2 << 20;

  private final ArrayDeque<ByteBuf> chunks = new ArrayDeque<>();

  /** Bytes kept behind the file by all downloads together, and their limit. */
  private final AtomicLong sharedBehind;

  private final long sharedLimit;

  /** This window's part of {@link #sharedBehind}. */
  private long behind;

  /** Offset of the first byte of the first chunk. */
  private long start;

  /** Offset just past the last byte added: how much of the body has been received. */
  private volatile long end;

  private boolean closed;

  /** A window alone (tests): no other download shares its limit. */
  ReceivedWindow() {
    this(new AtomicLong(), Long.MAX_VALUE);
  }

  ReceivedWindow(AtomicLong sharedBehind, long sharedLimit) {
    this.sharedBehind = sharedBehind;
    this.sharedLimit = sharedLimit;
  }

  /** Bytes received so far. */
  long end() {
    return end;
  }

  /** Keeps {@code chunk}'s readable bytes (a slice of its own; the caller keeps its reference). */
  synchronized void add(ByteBuf chunk) {
    int n = chunk.readableBytes();
    if (n == 0) {
      return;
    }
    if (closed) {
      start += n; // nothing held: start stays at end
    } else {
      chunks.add(chunk.retainedSlice());
    }
    end += n;
  }

  /**
   * A retained slice of at most {@code max} bytes starting at {@code position}, all from one
   * received chunk; null when those bytes are no longer (or not yet) held.
   */
  synchronized @Nullable ByteBuf slice(long position, long max) {
    if (position < start || position >= end) {
      return null;
    }
    // From the newest: clients that keep up read near the end.
    long at = end;
    for (Iterator<ByteBuf> it = chunks.descendingIterator(); it.hasNext(); ) {
      ByteBuf c = it.next();
      at -= c.readableBytes();
      if (position >= at) {
        int offset = (int) (position - at);
        int length = (int) Math.min(max, c.readableBytes() - offset);
        return c.retainedSlice(c.readerIndex() + offset, length);
      }
    }
    return null;
  }

  /**
   * Releases the chunks that end at least {@link #KEEP_BEHIND} bytes before {@code inFile}, or all
   * that are in the file when the downloads together keep more than their shared limit behind.
   */
  synchronized void trim(long inFile) {
    releaseBefore(inFile - KEEP_BEHIND);
    long nowBehind = Math.max(0, Math.min(inFile, end) - start);
    if (sharedBehind.addAndGet(nowBehind - behind) > sharedLimit) {
      releaseBefore(inFile);
      long least =
          Math.max(0, Math.min(inFile, end) - start); // part of a chunk still being written
      sharedBehind.addAndGet(least - nowBehind);
      nowBehind = least;
    }
    behind = nowBehind;
  }

  private void releaseBefore(long offset) {
    ByteBuf first;
    while ((first = chunks.peekFirst()) != null && start + first.readableBytes() <= offset) {
      start += first.readableBytes();
      chunks.removeFirst().release();
    }
  }

  /** Releases everything; from now on every read goes to the file. */
  synchronized void close() {
    closed = true;
    ByteBuf c;
    while ((c = chunks.pollFirst()) != null) {
      c.release();
    }
    start = end;
    sharedBehind.addAndGet(-behind);
    behind = 0;
  }
}
