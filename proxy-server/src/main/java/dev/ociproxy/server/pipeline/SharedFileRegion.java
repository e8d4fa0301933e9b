package dev.ociproxy.server.pipeline;

import io.netty.channel.DefaultFileRegion;
import java.nio.channels.FileChannel;

/**
 * A zero-copy region of a file channel that this region does not own: releasing it leaves the
 * channel open, so one reader can send a growing file as a series of regions. It extends {@link
 * DefaultFileRegion} on purpose: Netty's native transports only use {@code sendfile(2)} for that
 * class, and fall back to copying through user space for any other {@code FileRegion}.
 */
final class SharedFileRegion extends DefaultFileRegion {

  SharedFileRegion(FileChannel file, long position, long count) {
    super(file, position, count);
  }

  @Override
  protected void deallocate() {
    // The file channel belongs to the caller, who closes it once the whole response is sent.
  }
}
