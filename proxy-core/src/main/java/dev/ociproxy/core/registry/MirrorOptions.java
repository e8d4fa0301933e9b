package dev.ociproxy.core.registry;

import java.time.Duration;
import java.util.List;

/**
 * Caching policy for one upstream.
 *
 * @param manifestMaxBytes manifests larger than this are refused without being read to the end
 * @param tagTtl how long a verified tag mapping is served without asking the upstream, for tags no
 *     freshness rule matches
 * @param manifestTimeout total time allowed for one upstream manifest fetch
 * @param finishAbandonedDownloads whether a blob download goes on into the cache after its last
 *     client left (true), or stops (false)
 * @param freshness the operator's freshness rules, checked before {@link Freshness#DEFAULT_RULES}
 */
public record MirrorOptions(
    long manifestMaxBytes,
    Duration tagTtl,
    Duration manifestTimeout,
    boolean finishAbandonedDownloads,
    List<Freshness.Rule> freshness) {
  public static final long DEFAULT_MANIFEST_MAX_BYTES = 4L * 1024 * 1024;

  public MirrorOptions {
    freshness = List.copyOf(freshness);
  }

  public MirrorOptions(
      long manifestMaxBytes,
      Duration tagTtl,
      Duration manifestTimeout,
      boolean finishAbandonedDownloads) {
    this(manifestMaxBytes, tagTtl, manifestTimeout, finishAbandonedDownloads, List.of());
  }

  public MirrorOptions(long manifestMaxBytes, Duration tagTtl, Duration manifestTimeout) {
    this(manifestMaxBytes, tagTtl, manifestTimeout, true);
  }

  public static MirrorOptions defaults() {
    return new MirrorOptions(
        DEFAULT_MANIFEST_MAX_BYTES, Duration.ofSeconds(30), Duration.ofSeconds(60));
  }
}
