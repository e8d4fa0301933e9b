package dev.ociproxy.core.cache;

import com.sun.nio.file.ExtendedOpenOption;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Finds out once whether a directory's file system takes {@code O_DIRECT} writes (tmpfs, for one,
 * refuses them) and with what alignment, by writing one block to a probe file.
 */
final class DirectIoProbe {
  private static final int MAX_BLOCK = 64 << 10;

  private DirectIoProbe() {}

  /**
   * The block size to align direct writes in {@code dir} to, or 0 when direct I/O does not work
   * there.
   */
  static int blockSize(Path dir) {
    Path probe = dir.resolve("direct-io-probe.part");
    try {
      long size = Files.getFileStore(dir).getBlockSize();
      if (size <= 0 || size > MAX_BLOCK || Long.bitCount(size) != 1) {
        return 0;
      }
      int block = (int) size;
      ByteBuffer one = ByteBuffer.allocateDirect(2 * block).alignedSlice(block);
      one.limit(block);
      try (FileChannel ch =
          FileChannel.open(
              probe,
              StandardOpenOption.CREATE,
              StandardOpenOption.WRITE,
              StandardOpenOption.TRUNCATE_EXISTING,
              ExtendedOpenOption.DIRECT)) {
        while (one.hasRemaining()) {
          ch.write(one, one.position());
        }
      }
      return block;
    } catch (IOException | UnsupportedOperationException e) {
      return 0;
    } finally {
      ContentStore.deleteQuietly(probe);
    }
  }
}
