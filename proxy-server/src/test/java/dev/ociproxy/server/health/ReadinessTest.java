package dev.ociproxy.server.health;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Readiness really writes to the cache (root cannot fake a writable check) and turns off on
 * shutdown.
 */
class ReadinessTest {
  @TempDir Path cache;
  final AtomicBoolean stopping = new AtomicBoolean();

  private Readiness.Result check(int upstreams) throws Exception {
    try (Readiness r = new Readiness(cache, upstreams, stopping::get)) {
      return r.check().get(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void writableCacheWithAnUpstream_isReady_andLeavesNoProbeBehind() throws Exception {
    Files.createDirectories(cache.resolve("tmp"));
    assertThat(check(1).ready()).isTrue();
    try (var files = Files.list(cache.resolve("tmp"))) {
      assertThat(files).isEmpty();
    }
  }

  @Test
  void cacheTmpReplacedByAFile_isNotReady_andSaysWhy() throws Exception {
    Files.writeString(cache.resolve("tmp"), "not a directory");
    Readiness.Result r = check(1);
    assertThat(r.ready()).isFalse();
    assertThat(r.reason())
        .startsWith("cache dir not writable")
        .contains(cache.resolve("tmp").toString());
  }

  @Test
  void missingCacheTmp_isNotReady() throws Exception {
    assertThat(check(1).ready()).isFalse();
  }

  @Test
  void heldUntilTheWarmUpCompletes_isNotReadyWithItsReason_thenReady() throws Exception {
    Files.createDirectories(cache.resolve("tmp"));
    CompletableFuture<Void> warmUp = new CompletableFuture<>();
    try (Readiness r = new Readiness(cache, 1, stopping::get)) {
      r.holdUntil(warmUp, "warming up");
      assertThat(r.check().get(10, TimeUnit.SECONDS))
          .isEqualTo(new Readiness.Result(false, "warming up"));
      warmUp.completeExceptionally(new IllegalStateException("a failed warm-up holds no longer"));
      assertThat(r.check().get(10, TimeUnit.SECONDS).ready()).isTrue();
    }
  }

  @Test
  void noUpstream_isNotReady() throws Exception {
    Files.createDirectories(cache.resolve("tmp"));
    assertThat(check(0)).isEqualTo(new Readiness.Result(false, "no upstream configured"));
  }

  @Test
  void shuttingDown_isNotReady() throws Exception {
    Files.createDirectories(cache.resolve("tmp"));
    stopping.set(true);
    assertThat(check(1)).isEqualTo(new Readiness.Result(false, "shutting down"));
  }

  @Test
  void anUnreachableSharedStore_isNotReady_andSaysWhy() throws Exception {
    Files.createDirectories(cache.resolve("tmp"));
    Readiness.StoreCheck down =
        () -> {
          throw new java.io.IOException("storage.s3: bucket fleet: connection refused");
        };
    try (Readiness r = new Readiness(cache, 1, stopping::get, down)) {
      assertThat(r.check().get(10, TimeUnit.SECONDS))
          .isEqualTo(
              new Readiness.Result(
                  false, "shared store unreachable: storage.s3: bucket fleet: connection refused"));
    }
    try (Readiness r = new Readiness(cache, 1, stopping::get, () -> {})) {
      assertThat(r.check().get(10, TimeUnit.SECONDS).ready()).isTrue();
    }
  }
}
