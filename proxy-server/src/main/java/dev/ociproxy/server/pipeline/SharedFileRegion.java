package dev.ociproxy.server.pipeline;

import io.netty.channel.FileRegion;
import io.netty.util.AbstractReferenceCounted;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;

/**
 * A zero-copy region of a file channel that this region does not own: unlike {@code
 * DefaultFileRegion}, releasing it leaves the channel open, so one reader can send a growing file
 * as a series of regions.
 */
final class SharedFileRegion extends AbstractReferenceCounted implements FileRegion {
  private final FileChannel file;
  private final long position;
  private final long count;
  private long transferred;

  SharedFileRegion(FileChannel file, long position, long count) {
    this.file = file;
    this.position = position;
    this.count = count;
  }

  @Override
  public long position() {
    return position;
  }

  @Override
  @Deprecated
  public long transfered() {
    return transferred;
  }

  @Override
  public long transferred() {
    return transferred;
  }

  @Override
  public long count() {
    return count;
  }

  @Override
  public long transferTo(WritableByteChannel target, long pos) throws IOException {
    long remaining = count - pos;
    if (remaining <= 0) {
      return 0;
    }
    long n = file.transferTo(position + pos, remaining, target);
    if (n > 0) {
      transferred += n;
    } else if (n == 0 && file.size() < position + count) {
      throw new IOException("file shrank under a region being sent");
    }
    return n;
  }

  @Override
  protected void deallocate() {
    // The file channel belongs to the caller.
  }

  @Override
  public FileRegion retain() {
    super.retain();
    return this;
  }

  @Override
  public FileRegion retain(int increment) {
    super.retain(increment);
    return this;
  }

  @Override
  public FileRegion touch() {
    return this;
  }

  @Override
  public FileRegion touch(Object hint) {
    return this;
  }
}
