package dev.ociproxy.core.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DirectBlobFileTest {
  @TempDir Path dir;
  private StagingBuffers buffers;
  private int block;

  @BeforeEach
  void probe() {
    buffers = DirectIoSupport.buffersOrSkip(dir);
    block = buffers.block();
  }

  @ParameterizedTest
  @ValueSource(
      ints = {
        0,
        1,
        511,
        4095,
        4096,
        4097,
        StagingBuffers.SIZE - 1,
        StagingBuffers.SIZE,
        3 * StagingBuffers.SIZE + 12_345
      })
  void fileHoldsExactlyTheAppendedBytesWhateverTheirLength(int length) throws IOException {
    byte[] content = bytes(length);
    Path p = dir.resolve("blob.part");
    try (DirectBlobFile f = new DirectBlobFile(p, buffers)) {
      appendInOddPieces(f, content);
      f.finish();
      assertThat(f.durable()).isEqualTo(length);
    }
    assertThat(Files.readAllBytes(p)).isEqualTo(content);
  }

  @Test
  void onlyWholeBlocksAreInTheFileUntilTheEnd() throws IOException {
    byte[] content = bytes(2 * block + 10);
    Path p = dir.resolve("blob.part");
    try (DirectBlobFile f = new DirectBlobFile(p, buffers);
        FileChannel reader = FileChannel.open(p, StandardOpenOption.READ)) {
      f.append(ByteBuffer.wrap(content));
      assertThat(f.durable()).as("staged, not written").isZero();

      f.flush();

      assertThat(f.durable()).isEqualTo(2L * block);
      ByteBuffer read = ByteBuffer.allocate(2 * block);
      while (read.hasRemaining() && reader.read(read, read.position()) > 0) {
        // until full
      }
      assertThat(read.array()).isEqualTo(Arrays.copyOf(content, 2 * block));

      f.finish();

      assertThat(f.durable()).isEqualTo(content.length);
      assertThat(reader.size()).isEqualTo(content.length);
    }
  }

  @Test
  void closingGivesTheStagingBufferBackForTheNextFile() throws IOException {
    DirectBlobFile first = new DirectBlobFile(dir.resolve("a.part"), buffers);
    first.append(ByteBuffer.wrap(bytes(5_000)));
    assertThat(buffers.idle()).isZero();

    first.close();
    first.close(); // closed twice (a failure, then the writer): given back once

    assertThat(buffers.idle()).isEqualTo(1);
    byte[] content = bytes(StagingBuffers.SIZE + 77);
    Path p = dir.resolve("b.part");
    try (DirectBlobFile second = new DirectBlobFile(p, buffers)) {
      assertThat(buffers.idle()).as("the second file took the first one's buffer").isZero();
      appendInOddPieces(second, content);
      second.finish();
    }
    assertThat(Files.readAllBytes(p))
        .as("nothing of the first file's staged bytes")
        .isEqualTo(content);
  }

  @Test
  void closedFileNeverTouchesItsBufferAgain() throws IOException {
    DirectBlobFile f = new DirectBlobFile(dir.resolve("a.part"), buffers);
    f.append(ByteBuffer.wrap(bytes(5_000)));
    f.close(); // a failure, from another thread, while the writer still has appends to make
    ByteBuffer reused = buffers.take(); // the same buffer, now another download's
    byte[] theirs = bytes(1_000);
    reused.put(theirs);

    assertThatThrownBy(() -> f.append(ByteBuffer.wrap(new byte[3_000])))
        .isInstanceOf(ClosedChannelException.class);
    assertThatThrownBy(f::flush).isInstanceOf(ClosedChannelException.class);
    assertThatThrownBy(f::finish).isInstanceOf(ClosedChannelException.class);

    byte[] after = new byte[theirs.length];
    reused.flip().get(after);
    assertThat(after).isEqualTo(theirs);
    assertThat(reused.limit()).isEqualTo(theirs.length);
  }

  private static void appendInOddPieces(BlobFile f, byte[] content) throws IOException {
    int[] sizes = {1, 7_000, 65_536, 100, 300_000};
    int off = 0;
    for (int i = 0; off < content.length; i++) {
      int n = Math.min(sizes[i % sizes.length], content.length - off);
      f.append(ByteBuffer.wrap(content, off, n));
      off += n;
      if (i % 3 == 0) {
        f.flush();
      }
    }
  }

  private static byte[] bytes(int n) {
    byte[] b = new byte[n];
    new Random(n).nextBytes(b);
    return b;
  }
}
