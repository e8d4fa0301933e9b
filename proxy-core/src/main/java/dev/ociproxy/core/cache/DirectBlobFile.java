package dev.ociproxy.core.cache;

import com.sun.nio.file.ExtendedOpenOption;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.jspecify.annotations.Nullable;

/**
 * A blob file written with {@code O_DIRECT}: the bytes go from an aligned staging buffer (pooled:
 * {@link StagingBuffers}) to the device without passing through the page cache. Buffered writes
 * allocate a fresh page-cache page for every 4 KiB received, and on machines under memory
 * management pressure (this project's VMs run DAMON page-out) that costs several times the CPU of
 * hashing the same bytes; a direct write costs a memory copy. Clients being served the download
 * read its received buffers, not this file (see {@link BlobDownload}), so only later pulls read it
 * back.
 *
 * <p>Everything but the last partial block is written as it fills; {@link #finish} pads that block
 * and truncates the file to the appended length.
 */
final class DirectBlobFile implements BlobFile {
  private final FileChannel out;
  private final StagingBuffers buffers;
  private final int block;

  /** Taken from {@link #buffers} at open and given back by {@link #close}; null once closed. */
  private @Nullable ByteBuffer staging;

  /** Bytes in the file; a multiple of the block size until {@link #finish}. */
  private long filled;

  private volatile long durable;

  /**
   * Creates {@code path} (it must not exist), staging its writes in a buffer from {@code buffers}.
   */
  DirectBlobFile(Path path, StagingBuffers buffers) throws IOException {
    this(
        FileChannel.open(
            path,
            StandardOpenOption.CREATE_NEW,
            StandardOpenOption.WRITE,
            ExtendedOpenOption.DIRECT),
        buffers);
  }

  private DirectBlobFile(FileChannel out, StagingBuffers buffers) {
    this.out = out;
    this.buffers = buffers;
    this.block = buffers.block();
    this.staging = buffers.take();
  }

  /**
   * Goes on writing a file that already holds {@code length} bytes (written through the page
   * cache): its last partial block is read back into the staging buffer and rewritten in place.
   */
  static DirectBlobFile resume(Path path, StagingBuffers buffers, long length) throws IOException {
    DirectBlobFile f =
        new DirectBlobFile(
            FileChannel.open(path, StandardOpenOption.WRITE, ExtendedOpenOption.DIRECT), buffers);
    try {
      f.filled = length / f.block * f.block;
      int tail = (int) (length - f.filled);
      if (tail > 0) {
        try (FileChannel in = FileChannel.open(path, StandardOpenOption.READ)) {
          ByteBuffer partial = ByteBuffer.allocate(tail);
          while (partial.hasRemaining()) {
            if (in.read(partial, f.filled + partial.position()) < 0) {
              throw new IOException("file shorter than the " + length + " bytes written");
            }
          }
          f.staged().put(partial.flip());
        }
      }
    } catch (IOException | RuntimeException e) {
      f.close();
      throw e;
    }
    f.durable = length; // the partial block's bytes are in the file already
    return f;
  }

  // The methods that touch the staging buffer hold this file's lock, and close() takes it too:
  // a failure may close the file from another thread while the writer appends, and the buffer
  // must not go back to the pool (and into another download's file) while it is being filled.

  @Override
  public synchronized void append(ByteBuffer src) throws IOException {
    ByteBuffer staging = staged();
    while (src.hasRemaining()) {
      int n = Math.min(src.remaining(), staging.remaining());
      staging.put(src.slice(src.position(), n));
      src.position(src.position() + n);
      if (!staging.hasRemaining()) {
        writeWholeBlocks(staging);
      }
    }
  }

  @Override
  public synchronized void flush() throws IOException {
    writeWholeBlocks(staged());
  }

  @Override
  public synchronized void finish() throws IOException {
    ByteBuffer staging = staged();
    writeWholeBlocks(staging);
    int rest = staging.position();
    if (rest > 0) {
      staging.limit(block);
      while (staging.hasRemaining()) {
        staging.put((byte) 0);
      }
      staging.flip();
      writeFully(staging, filled);
      out.truncate(filled + rest);
      filled += rest;
      staging.clear();
    }
    durable = Math.max(durable, filled);
  }

  /** The staging buffer; the file is closed once it went back to the pool. */
  private ByteBuffer staged() throws ClosedChannelException {
    ByteBuffer s = staging;
    if (s == null) {
      throw new ClosedChannelException();
    }
    return s;
  }

  /** Writes the staged whole blocks and keeps the partial one at the front of the buffer. */
  private void writeWholeBlocks(ByteBuffer staging) throws IOException {
    int staged = staging.position();
    int whole = staged / block * block;
    if (whole == 0) {
      return;
    }
    int capacity = staging.limit();
    staging.position(0).limit(whole);
    writeFully(staging, filled);
    filled += whole;
    staging.limit(staged).position(whole);
    staging.compact();
    staging.limit(capacity);
    durable = Math.max(durable, filled);
  }

  private void writeFully(ByteBuffer staging, long at) throws IOException {
    long pos = at;
    while (staging.hasRemaining()) {
      pos += out.write(staging, pos);
    }
  }

  @Override
  public long durable() {
    return durable;
  }

  @Override
  public synchronized void close() throws IOException {
    if (staging == null) {
      return;
    }
    try {
      out.close();
    } finally {
      buffers.give(staging);
      staging = null;
    }
  }
}
