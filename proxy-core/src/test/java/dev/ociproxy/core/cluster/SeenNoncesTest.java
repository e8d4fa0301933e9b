package dev.ociproxy.core.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The peer path's replay memory: a nonce passes once while remembered; full means refuse. */
class SeenNoncesTest {
  private final AtomicLong nanos = new AtomicLong();
  private final SeenNonces seen = new SeenNonces(Duration.ofSeconds(120), 3, nanos::get);

  @Test
  void aNoncePassesOnceWhileRemembered() {
    assertThat(seen.firstUse("a")).isTrue();
    assertThat(seen.firstUse("a")).isFalse();
    nanos.addAndGet(Duration.ofSeconds(119).toNanos());
    assertThat(seen.firstUse("a")).isFalse();
  }

  @Test
  void whenFullNewNoncesAreRefusedRatherThanOldOnesForgotten() {
    assertThat(seen.firstUse("a")).isTrue();
    assertThat(seen.firstUse("b")).isTrue();
    assertThat(seen.firstUse("c")).isTrue();
    assertThat(seen.firstUse("d")).as("full").isFalse();
    assertThat(seen.firstUse("a")).as("still remembered").isFalse();
  }

  @Test
  void expiredNoncesMakeRoom() {
    seen.firstUse("a");
    seen.firstUse("b");
    seen.firstUse("c");
    nanos.addAndGet(Duration.ofSeconds(121).toNanos());
    assertThat(seen.firstUse("d")).isTrue();
  }
}
