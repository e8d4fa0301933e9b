package dev.ociproxy.core.shared;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.registry.MirrorOptions;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A bucket that never answers (black-holed, or every thread busy with uploads) does not hold a pull
 * up: each read is answered "not there" after {@link StoreThreads#READ_TIMEOUT_SECONDS} and the
 * request goes on to the upstream. An object store that hangs cannot be had from s3proxy, hence
 * this one.
 */
class SharedStoreTimeoutTest {
  private static final Digest D = Digest.parse("sha256:" + "ab".repeat(32));

  @TempDir Path dir;
  private final CountDownLatch release = new CountDownLatch(1);
  private ContentStore local;
  private SharedStore shared;

  @AfterEach
  void close() {
    release.countDown();
    if (shared != null) {
      shared.close();
    }
    if (local != null) {
      local.close();
    }
  }

  @Test
  void readsOfABucketThatNeverAnswersAreAnsweredNotThereWithinTheTimeout() throws Exception {
    local = new ContentStore(dir).open();
    shared =
        new SharedStore(
            new Hanging(),
            new RecordMac(SharedStoreTest.SECRET),
            local,
            new SimpleMeterRegistry(),
            MirrorOptions.DEFAULT_MANIFEST_MAX_BYTES);
    RepositoryName repo = new RepositoryName("team/app");
    long deadline = TimeUnit.SECONDS.toMillis(StoreThreads.READ_TIMEOUT_SECONDS + 5);
    long start = System.nanoTime();

    // Asked together, as a pull asks them: one timeout, not three in a row.
    var blob = shared.blobFor("up.test", repo, D);
    var manifest = shared.manifestFor("up.test", repo, D);
    var tag = shared.tagFor("up.test", repo, new Tag("v1"));

    assertThat(blob.get(deadline, TimeUnit.MILLISECONDS)).isEqualTo(-1L);
    assertThat(manifest.get(deadline, TimeUnit.MILLISECONDS)).isNull();
    assertThat(tag.get(deadline, TimeUnit.MILLISECONDS)).isNull();
    assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start))
        .isGreaterThanOrEqualTo(StoreThreads.READ_TIMEOUT_SECONDS - 1);
  }

  /** Every call blocks until the test ends. */
  private final class Hanging implements ObjectStore {
    private <T> T hang() {
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      throw new IllegalStateException("released");
    }

    @Override
    public long size(String key) {
      return hang();
    }

    @Override
    public InputStream open(String key) {
      return hang();
    }

    @Override
    public byte[] read(String key, int max) {
      return hang();
    }

    @Override
    public void write(String key, byte[] body) {
      hang();
    }

    @Override
    public void upload(String key, Path file) {
      hang();
    }

    @Override
    public List<Listed> list(String prefix) {
      return hang();
    }

    @Override
    public void delete(String key) {
      hang();
    }

    @Override
    public void check() {
      hang();
    }

    @Override
    public String describe(String key) {
      return "hanging://" + key;
    }

    @Override
    public void close() {}
  }
}
