package dev.ociproxy.it.support;

import static java.util.Objects.requireNonNull;

import org.junit.jupiter.api.Assumptions;

/**
 * Whether a real external program (daemon, client) can run in this environment, and if not why.
 *
 * <p>Tests call {@link #assumeAvailable()} so a missing binary or an environment that cannot start
 * a daemon shows up as a skipped test with the reason, not as a failure.
 */
public record Availability(boolean available, String reason) {

  public Availability {
    requireNonNull(reason, "reason");
  }

  public static Availability ok() {
    return new Availability(true, "available");
  }

  public static Availability unavailable(String reason) {
    return new Availability(false, reason);
  }

  /** Skips the calling test (JUnit assumption) with {@link #reason()} unless available. */
  public void assumeAvailable() {
    Assumptions.assumeTrue(available, reason);
  }

  /** Returns the first unavailable of {@code this} and {@code other}, else {@code this}. */
  public Availability and(Availability other) {
    return available ? other : this;
  }
}
