package dev.ociproxy.it;

import java.time.Duration;
import java.util.Random;
import java.util.function.BooleanSupplier;
import org.awaitility.Awaitility;

/**
 * Small helpers the end-to-end tests share: reproducible content and polling without sleeps as
 * synchronisation.
 */
final class ItFixtures {
  private ItFixtures() {}

  /** {@code n} pseudo-random (incompressible, reproducible) bytes. */
  static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  /** Waits for {@code cond}, polling every 20 ms; fails after {@code timeout}. */
  static void await(String what, Duration timeout, BooleanSupplier cond) {
    Awaitility.await(what)
        .atMost(timeout)
        .pollInterval(Duration.ofMillis(20))
        .until(cond::getAsBoolean);
  }
}
