package dev.ociproxy.core.cache;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * The aligned direct buffers {@link DirectBlobFile}s stage their writes in, pooled. Each is {@link
 * #SIZE} bytes of native memory that {@code allocateDirect} zeroes and only the garbage collector
 * frees, so without the pool every big download would cost a fresh one. A file takes a buffer when
 * it opens and gives it back when it closes; at most {@link #MAX_IDLE} wait here. Thread-safe.
 */
final class StagingBuffers {
  /** Staging buffer size: writes of this size keep the device busy at a few syscalls per MiB. */
  static final int SIZE = 256 << 10;

  /** Idle buffers kept (4 MiB): enough for the big downloads a mirror runs at once. */
  static final int MAX_IDLE = 16;

  private final int block;
  private final ArrayDeque<ByteBuffer> idle = new ArrayDeque<>();

  /**
   * @param block the file system's block size: buffer addresses and lengths are aligned to it
   */
  StagingBuffers(int block) {
    if (block <= 0 || SIZE % block != 0) {
      throw new IllegalArgumentException("block size " + block + " does not divide " + SIZE);
    }
    this.block = block;
  }

  int block() {
    return block;
  }

  /** An empty buffer of {@link #SIZE} bytes, aligned to the block size; the caller owns it. */
  ByteBuffer take() {
    ByteBuffer b;
    synchronized (this) {
      b = idle.pollFirst();
    }
    if (b == null) {
      b = ByteBuffer.allocateDirect(SIZE + block).alignedSlice(block);
    }
    return b.clear().limit(SIZE);
  }

  /** Takes back a buffer from {@link #take}; the caller must not touch it afterwards. */
  void give(ByteBuffer b) {
    synchronized (this) {
      if (idle.size() < MAX_IDLE) {
        idle.addFirst(b); // the most recently used one is the likeliest still in the CPU cache
      }
    }
  }

  synchronized int idle() {
    return idle.size();
  }
}
