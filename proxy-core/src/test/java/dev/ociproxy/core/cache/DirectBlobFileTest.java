package dev.ociproxy.core.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
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
  private int block;

  @BeforeEach
  void probe() {
    block = DirectIoProbe.blockSize(dir);
    assumeTrue(block > 0, "the file system of " + dir + " refuses O_DIRECT (tmpfs?): nothing to test here");
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 511, 4095, 4096, 4097, DirectBlobFile.STAGING - 1, DirectBlobFile.STAGING,
      3 * DirectBlobFile.STAGING + 12_345})
  void fileHoldsExactlyTheAppendedBytesWhateverTheirLength(int length) throws IOException {
    byte[] content = bytes(length);
    Path p = dir.resolve("blob.part");
    try (DirectBlobFile f = new DirectBlobFile(p, block, length)) {
      appendInOddPieces(f, content);
      f.finish();
      assertThat(f.durable()).isEqualTo(length);
    }
    assertThat(Files.readAllBytes(p)).isEqualTo(content);
  }

  @Test
  void blobOfUnknownLengthIsWrittenWhole() throws IOException {
    byte[] content = bytes(2 * DirectBlobFile.STAGING + 3);
    Path p = dir.resolve("blob.part");
    try (DirectBlobFile f = new DirectBlobFile(p, block, -1)) {
      appendInOddPieces(f, content);
      f.finish();
    }
    assertThat(Files.readAllBytes(p)).isEqualTo(content);
  }

  @Test
  void onlyWholeBlocksAreInTheFileUntilTheEnd() throws IOException {
    byte[] content = bytes(2 * block + 10);
    Path p = dir.resolve("blob.part");
    try (DirectBlobFile f = new DirectBlobFile(p, block, -1);
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
