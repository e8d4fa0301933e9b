package dev.ociproxy.core.cache;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AdaptiveBlobFileTest {
  @TempDir Path dir;
  private StagingBuffers buffers;

  @BeforeEach
  void probe() {
    buffers = DirectIoSupport.buffersOrSkip(dir);
  }

  @Test
  void fileThatKeepsUpStaysInThePageCache() throws IOException {
    byte[] content = bytes(300_001);
    Path p = dir.resolve("blob.part");
    try (AdaptiveBlobFile f = new AdaptiveBlobFile(p, buffers)) {
      f.append(ByteBuffer.wrap(content));
      f.flush();
      f.finish();
      assertThat(f.direct()).isFalse();
    }
    assertThat(Files.readAllBytes(p)).isEqualTo(content);
  }

  @Test
  void fileFallingBehindGoesOnWithDirectWritesAndKeepsEveryByte() throws IOException {
    byte[] content = bytes(3 * StagingBuffers.SIZE + 4_321);
    int before = 100_003; // not a whole number of blocks: the partial block is rewritten in place
    Path p = dir.resolve("blob.part");
    java.util.concurrent.atomic.AtomicInteger switches =
        new java.util.concurrent.atomic.AtomicInteger();
    try (AdaptiveBlobFile f = new AdaptiveBlobFile(p, buffers, switches::incrementAndGet)) {
      f.append(ByteBuffer.wrap(content, 0, before));
      long durableBefore = f.durable();

      f.fallingBehind();
      f.append(ByteBuffer.wrap(content, before, 7));

      assertThat(f.direct()).isTrue();
      assertThat(f.durable()).as("never goes back").isGreaterThanOrEqualTo(durableBefore);
      f.append(ByteBuffer.wrap(content, before + 7, content.length - before - 7));
      f.flush();
      f.finish();
      assertThat(f.durable()).isEqualTo(content.length);
    }
    assertThat(switches).as("counted once").hasValue(1);
    assertThat(Files.readAllBytes(p)).isEqualTo(content);
  }

  @Test
  void switchThatFailsGoesOnThroughThePageCache() throws IOException {
    Path p = dir.resolve("blob.part");
    try (AdaptiveBlobFile f = new AdaptiveBlobFile(p, buffers)) {
      f.append(ByteBuffer.wrap(bytes(10_000)));
      Files.delete(p); // the direct channel cannot be opened any more; the buffered one still works

      f.fallingBehind();
      f.append(ByteBuffer.wrap(bytes(10)));

      assertThat(f.direct()).isFalse();
      assertThat(f.durable()).isEqualTo(10_010);
    }
  }

  @Test
  void closedFileDoesNotSwitch() throws IOException {
    Path p = dir.resolve("blob.part");
    AdaptiveBlobFile f = new AdaptiveBlobFile(p, buffers);
    f.append(ByteBuffer.wrap(bytes(10_000)));

    f.close(); // a failure, from another thread
    f.fallingBehind();

    org.assertj.core.api.Assertions.assertThatThrownBy(() -> f.append(ByteBuffer.wrap(bytes(10))))
        .isInstanceOf(java.nio.channels.ClosedChannelException.class);
    assertThat(f.direct()).isFalse();
  }

  private static byte[] bytes(int n) {
    byte[] b = new byte[n];
    new Random(n).nextBytes(b);
    return b;
  }
}
