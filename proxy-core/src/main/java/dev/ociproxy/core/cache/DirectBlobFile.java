package dev.ociproxy.core.cache;

import com.sun.nio.file.ExtendedOpenOption;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A blob file written with {@code O_DIRECT}: the bytes go from an aligned staging buffer to the
 * device without passing through the page cache. Buffered writes allocate a fresh page-cache page
 * for every 4 KiB received, and on machines under memory management pressure (this project's VMs
 * run DAMON page-out) that costs several times the CPU of hashing the same bytes; a direct write
 * costs a memory copy. Clients being served the download read its received buffers, not this file
 * (see {@link BlobDownload}), so only later pulls read it back.
 *
 * <p>Everything but the last partial block is written as it fills; {@link #finish} pads that block
 * and truncates the file to the appended length.
 */
final class DirectBlobFile implements BlobFile {
  /** Staging buffer size: writes of this size keep the device busy at a few syscalls per MiB. */
  static final int STAGING = 256 << 10;

  private final FileChannel out;
  private final int block;
  private final ByteBuffer staging;
  /** Bytes in the file; a multiple of the block size until {@link #finish}. */
  private long filled;
  private volatile long durable;

  /**
   * @param block the file system's block size, to which buffer addresses, offsets and lengths are
   *     aligned
   * @param expectedLength the blob's declared length, or -1: a small blob stages less
   */
  DirectBlobFile(Path path, int block, long expectedLength) throws IOException {
    this(FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
        ExtendedOpenOption.DIRECT), block, expectedLength);
  }

  private DirectBlobFile(FileChannel out, int block, long expectedLength) {
    this.out = out;
    this.block = block;
    long want = expectedLength < 0 ? STAGING : Math.min(STAGING, roundUp(Math.max(1, expectedLength), block));
    this.staging = ByteBuffer.allocateDirect((int) want + block).alignedSlice(block);
    this.staging.limit((int) want);
  }

  /**
   * Goes on writing a file that already holds {@code length} bytes (written through the page
   * cache): its last partial block is read back into the staging buffer and rewritten in place.
   */
  static DirectBlobFile resume(Path path, int block, long expectedLength, long length) throws IOException {
    FileChannel out = FileChannel.open(path, StandardOpenOption.WRITE, ExtendedOpenOption.DIRECT);
    DirectBlobFile f;
    try {
      f = new DirectBlobFile(out, block, expectedLength);
      f.filled = length / block * block;
      int tail = (int) (length - f.filled);
      if (tail > 0) {
        try (FileChannel in = FileChannel.open(path, StandardOpenOption.READ)) {
          ByteBuffer partial = ByteBuffer.allocate(tail);
          while (partial.hasRemaining()) {
            if (in.read(partial, f.filled + partial.position()) < 0) {
              throw new IOException("file shorter than the " + length + " bytes written");
            }
          }
          f.staging.put(partial.flip());
        }
      }
    } catch (IOException | RuntimeException e) {
      out.close();
      throw e;
    }
    f.durable = length; // the partial block's bytes are in the file already
    return f;
  }

  private static long roundUp(long n, int block) {
    return (n + block - 1) / block * block;
  }

  @Override
  public void append(ByteBuffer src) throws IOException {
    while (src.hasRemaining()) {
      int n = Math.min(src.remaining(), staging.remaining());
      staging.put(src.slice(src.position(), n));
      src.position(src.position() + n);
      if (!staging.hasRemaining()) {
        writeWholeBlocks();
      }
    }
  }

  @Override
  public void flush() throws IOException {
    writeWholeBlocks();
  }

  @Override
  public void finish() throws IOException {
    writeWholeBlocks();
    int rest = staging.position();
    if (rest > 0) {
      staging.limit(block);
      while (staging.hasRemaining()) {
        staging.put((byte) 0);
      }
      staging.flip();
      writeFully(filled);
      out.truncate(filled + rest);
      filled += rest;
      staging.clear();
    }
    durable = Math.max(durable, filled);
  }

  /** Writes the staged whole blocks and keeps the partial one at the front of the buffer. */
  private void writeWholeBlocks() throws IOException {
    int staged = staging.position();
    int whole = staged / block * block;
    if (whole == 0) {
      return;
    }
    int capacity = staging.limit();
    staging.position(0).limit(whole);
    writeFully(filled);
    filled += whole;
    staging.limit(staged).position(whole);
    staging.compact();
    staging.limit(capacity);
    durable = Math.max(durable, filled);
  }

  private void writeFully(long at) throws IOException {
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
  public void close() throws IOException {
    out.close();
  }
}
