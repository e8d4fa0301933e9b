package dev.ociproxy.core.cache;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileChecksTest {
  @TempDir Path dir;

  @Test
  void aMissingFileDoesNotExistAndHasNoSize() {
    Path missing = dir.resolve("missing");
    assertThat(FileChecks.exists(missing)).isFalse();
    assertThat(FileChecks.size(missing)).isEqualTo(-1);
  }

  @Test
  void anEmptyFileExistsWithSizeZeroNotAsMissing() throws Exception {
    // The empty blob (sha256:e3b0...) is real content a cache holds.
    Path empty = Files.createFile(dir.resolve("empty"));
    assertThat(FileChecks.exists(empty)).isTrue();
    assertThat(FileChecks.size(empty)).isZero();
  }

  @Test
  void aFileHasItsSize() throws Exception {
    Path f = Files.write(dir.resolve("f"), new byte[1234]);
    assertThat(FileChecks.exists(f)).isTrue();
    assertThat(FileChecks.size(f)).isEqualTo(1234);
  }
}
