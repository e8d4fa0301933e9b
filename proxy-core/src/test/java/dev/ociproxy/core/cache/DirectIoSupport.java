package dev.ociproxy.core.cache;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;

/** What the direct-I/O tests start from: staging buffers for the file system of their directory. */
final class DirectIoSupport {
  private DirectIoSupport() {}

  /**
   * Buffers aligned for {@code dir}'s file system; skips the test where it refuses O_DIRECT
   * (tmpfs).
   */
  static StagingBuffers buffersOrSkip(Path dir) {
    int block = DirectIoProbe.blockSize(dir);
    assumeTrue(
        block > 0,
        "the file system of " + dir + " refuses O_DIRECT (tmpfs?): nothing to test here");
    return new StagingBuffers(block);
  }
}
