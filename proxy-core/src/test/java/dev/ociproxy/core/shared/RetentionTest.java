package dev.ociproxy.core.shared;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.testing.S3Server;
import java.time.Instant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Which blobs were not used since a time: the later of upload and use record decides. */
class RetentionTest {
  private final S3Server s3 = S3Server.start("keep");
  private final S3ObjectStore objects =
      new S3ObjectStore(S3ObjectStoreTest.options(s3, "keep", "p/"));

  @AfterEach
  void stop() {
    objects.close();
    s3.close();
  }

  @Test
  void aBlobNeitherUploadedNorUsedSinceTheTimeIsListedAndRemovedWithItsUseRecord()
      throws Exception {
    objects.write("blobs/sha256/aaaa", new byte[] {1, 2, 3});
    objects.write("used/sha256/aaaa", new byte[0]);
    objects.write("blobs/sha256/bbbb", new byte[] {4});
    Thread.sleep(1_500); // object times have a resolution of a second
    Instant since = Instant.now();
    Thread.sleep(1_500);
    objects.write("used/sha256/bbbb", new byte[0]); // used again after the time
    objects.write("blobs/sha256/cccc", new byte[] {5}); // uploaded after it
    Retention retention = new Retention(objects);

    var unused = retention.unusedSince(since);

    assertThat(unused).extracting(Retention.Unused::key).containsExactly("blobs/sha256/aaaa");
    assertThat(unused.get(0).size()).isEqualTo(3);
    assertThat(unused.get(0).lastUsed()).isBefore(since);
    retention.remove(unused.get(0));
    assertThat(objects.size("blobs/sha256/aaaa")).isEqualTo(-1);
    assertThat(objects.size("used/sha256/aaaa")).isEqualTo(-1);
    assertThat(objects.size("blobs/sha256/bbbb")).isEqualTo(1);
    assertThat(retention.unusedSince(since)).isEmpty();
  }
}
