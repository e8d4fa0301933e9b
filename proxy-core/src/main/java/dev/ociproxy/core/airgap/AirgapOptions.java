package dev.ociproxy.core.airgap;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The air-gap settings of a proxy, as validated by the server's configuration loader.
 *
 * @param offlineUpstreams upstreams never to contact (all of them under a global {@code offline})
 * @param pinnedOnlyUpstreams upstreams that serve only what a pin reaches
 * @param pinsFile the pin file, or null for none
 * @param warm images the server keeps warm in the background
 * @param warmInterval how often the background warm runs again
 */
public record AirgapOptions(
    Set<String> offlineUpstreams,
    Set<String> pinnedOnlyUpstreams,
    @Nullable Path pinsFile,
    List<WarmEntry> warm,
    Duration warmInterval) {

  /** The interval of the background warm when none is configured. */
  public static final Duration DEFAULT_WARM_INTERVAL = Duration.ofHours(1);

  /**
   * One entry of the configured warm list; empty {@code platforms} means every platform, {@code
   * attached} what is taken along.
   */
  public record WarmEntry(ImageRef ref, Set<Platform> platforms, Attached attached) {
    public WarmEntry {
      requireNonNull(ref, "ref");
      platforms = Set.copyOf(platforms);
      requireNonNull(attached, "attached");
    }

    public WarmEntry(ImageRef ref, Set<Platform> platforms) {
      this(ref, platforms, Attached.NONE);
    }
  }

  public AirgapOptions {
    offlineUpstreams = Set.copyOf(offlineUpstreams);
    pinnedOnlyUpstreams = Set.copyOf(pinnedOnlyUpstreams);
    warm = List.copyOf(warm);
    requireNonNull(warmInterval, "warmInterval");
    if (warmInterval.isNegative() || warmInterval.isZero()) {
      throw new IllegalArgumentException("warmInterval: " + warmInterval + " (expected: > 0)");
    }
  }

  /** No air-gap settings: every upstream online, no pins, nothing warmed. */
  public static AirgapOptions none() {
    return new AirgapOptions(Set.of(), Set.of(), null, List.of(), DEFAULT_WARM_INTERVAL);
  }

  public boolean isOffline(String upstream) {
    return offlineUpstreams.contains(upstream);
  }

  public boolean isPinnedOnly(String upstream) {
    return pinnedOnlyUpstreams.contains(upstream);
  }

  /** The same settings without the background warm list (for one-shot commands). */
  public AirgapOptions withoutWarm() {
    return new AirgapOptions(
        offlineUpstreams, pinnedOnlyUpstreams, pinsFile, List.of(), warmInterval);
  }
}
