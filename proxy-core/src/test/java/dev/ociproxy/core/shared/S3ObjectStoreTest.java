package dev.ociproxy.core.shared;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ociproxy.testing.S3Server;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The S3 client against a real S3 API (s3proxy in this JVM), with signatures checked. */
class S3ObjectStoreTest {
  private static S3Server s3;
  private static S3ObjectStore store;

  @TempDir Path dir;

  @BeforeAll
  static void start() {
    s3 = S3Server.start("bucket");
    store = new S3ObjectStore(options(s3, "bucket", "cache/"));
  }

  @AfterAll
  static void stop() {
    store.close();
    s3.close();
  }

  static S3Options options(S3Server s3, String bucket, String prefix) {
    return new S3Options(
        s3.endpoint(),
        S3Server.REGION,
        bucket,
        prefix,
        true,
        S3Server.ACCESS_KEY,
        S3Server.SECRET_KEY,
        false,
        SharedStoreTest.SECRET);
  }

  @Test
  void smallObjectsRoundTripUnderThePrefixAndAbsentOnesAreNull() throws IOException {
    store.write("tags/a/_tags/v1", new byte[] {1, 2, 3});

    assertThat(store.read("tags/a/_tags/v1", 100)).containsExactly(1, 2, 3);
    assertThat(store.size("tags/a/_tags/v1")).isEqualTo(3);
    assertThat(store.read("tags/a/_tags/v2", 100)).isNull();
    assertThat(store.size("tags/a/_tags/v2")).isEqualTo(-1);
    assertThat(store.open("nothing")).isNull();
    assertThat(s3.blobStore().blobExists("bucket", "cache/tags/a/_tags/v1")).isTrue();
    assertThat(store.list("tags/a/"))
        .extracting(ObjectStore.Listed::key)
        .contains("tags/a/_tags/v1");
    assertThatThrownBy(() -> store.read("tags/a/_tags/v1", 2)).hasMessageContaining("larger");

    store.delete("tags/a/_tags/v1");
    assertThat(store.size("tags/a/_tags/v1")).isEqualTo(-1);
  }

  @Test
  void aFileBiggerThanOnePartIsUploadedInPartsAndReadsBackByteForByte() throws IOException {
    byte[] content = new byte[(int) (2 * S3ObjectStore.PART_SIZE + 12345)];
    new Random(7).nextBytes(content);
    Path file = dir.resolve("big");
    Files.write(file, content);

    long start = System.nanoTime();
    store.upload("blobs/sha256/big", file);
    long upNanos = System.nanoTime() - start;
    start = System.nanoTime();
    byte[] back;
    try (InputStream in = store.open("blobs/sha256/big")) {
      back = in.readAllBytes();
    }
    long downNanos = System.nanoTime() - start;

    assertThat(back).isEqualTo(content);
    assertThat(store.size("blobs/sha256/big")).isEqualTo(content.length);
    System.out.printf(
        "s3proxy in-process, %d MiB: upload %.0f MiB/s, download %.0f MiB/s%n",
        content.length >> 20,
        content.length / 1048576.0 / (upNanos / 1e9),
        content.length / 1048576.0 / (downNanos / 1e9));
  }

  @Test
  void aMultipartUploadThatFailsMidwayIsAbortedAndLeavesNoObject() throws IOException {
    byte[] content = new byte[(int) (S3ObjectStore.PART_SIZE + 1000)];
    new Random(8).nextBytes(content);
    Path file = dir.resolve("short");
    Files.write(file, content);

    // Claims more than the file holds: the second part comes up short and its PUT fails.
    assertThatThrownBy(
            () -> store.uploadInParts("blobs/sha256/short", file, 2 * S3ObjectStore.PART_SIZE))
        .isNotNull();

    assertThat(store.size("blobs/sha256/short")).isEqualTo(-1);
    assertThat(store.pendingUploads()).isZero();
  }

  @Test
  void aMissingBucketFailsTheCheckNamingIt() {
    try (S3ObjectStore other = new S3ObjectStore(options(s3, "no-such-bucket", ""))) {
      assertThatThrownBy(other::check)
          .isInstanceOf(IOException.class)
          .hasMessageContaining("no-such-bucket");
    }
    assertThat(catchCheck(store)).isNull();
  }

  private static Exception catchCheck(S3ObjectStore s) {
    try {
      s.check();
      return null;
    } catch (IOException e) {
      return e;
    }
  }
}
