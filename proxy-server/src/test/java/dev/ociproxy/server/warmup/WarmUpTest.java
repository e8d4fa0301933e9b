package dev.ociproxy.server.warmup;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The start's warm-up: real pulls through a throwaway server on loopback, in its own directory
 * beside the cache's, gone when it is done; bounded by its budget; and a warm-up that cannot run
 * says why and still completes, so readiness is not held forever.
 */
class WarmUpTest {
  @TempDir Path cache;

  @Test
  void pullsThroughAThrowawayServer_andLeavesNothingBehindInTheCacheDir() throws Exception {
    Files.createDirectories(cache.resolve("blobs"));
    Path leftover = cache.resolve("warm-up/blobs/sha256/ab/left-by-a-killed-start");
    Files.createDirectories(leftover.getParent());
    Files.writeString(leftover, "x");

    WarmUp.Report r = WarmUp.atStart(cache, Duration.ofMinutes(2), 2_000).get(3, TimeUnit.MINUTES);

    assertThat(r.failure()).isNull();
    assertThat(r.rounds()).isPositive();
    assertThat(r.requests()).isGreaterThanOrEqualTo(2_000);
    try (Stream<Path> left = Files.list(cache)) {
      assertThat(left).containsExactly(cache.resolve("blobs"));
    }
  }

  @Test
  void stopsWhenItsBudgetIsSpent_whenEnoughRequestsAreNever() throws Exception {
    WarmUp.Report r =
        WarmUp.atStart(cache, Duration.ofMillis(1500), Long.MAX_VALUE).get(2, TimeUnit.MINUTES);

    assertThat(r.failure()).isNull();
    assertThat(r.millis()).isGreaterThanOrEqualTo(1500);
    assertThat(cache.resolve("warm-up")).doesNotExist();
  }

  @Test
  void whatAKilledWarmUpLeft_isRemovedByAStartWithoutOne() throws Exception {
    Path leftover = cache.resolve("warm-up/tmp/cut-short.part");
    Files.createDirectories(leftover.getParent());
    Files.writeString(leftover, "x");
    Files.createDirectories(cache.resolve("blobs"));

    WarmUp.removeLeftovers(cache);

    try (Stream<Path> left = Files.list(cache)) {
      assertThat(left).containsExactly(cache.resolve("blobs"));
    }
  }

  @Test
  void aWarmUpThatCannotStart_completesWithTheReason() throws Exception {
    Path notADirectory = cache.resolve("file");
    Files.writeString(notADirectory, "a file where the cache dir should be");

    WarmUp.Report r =
        WarmUp.atStart(notADirectory, Duration.ofSeconds(30)).get(2, TimeUnit.MINUTES);

    assertThat(r.failure()).contains(notADirectory.toString());
    assertThat(r.requests()).isZero();
  }
}
