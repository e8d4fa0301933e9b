package dev.ociproxy.core.registry;

import java.time.Duration;

/**
 * Caching policy for one upstream.
 *
 * @param manifestMaxBytes manifests larger than this are refused without being read to the end
 * @param tagTtl how long a verified tag mapping is served without asking the upstream
 * @param manifestTimeout total time allowed for one upstream manifest fetch
 */
public record MirrorOptions(long manifestMaxBytes, Duration tagTtl, Duration manifestTimeout) {
  public static final long DEFAULT_MANIFEST_MAX_BYTES = 4L * 1024 * 1024;

  public static MirrorOptions defaults() {
    return new MirrorOptions(DEFAULT_MANIFEST_MAX_BYTES, Duration.ofSeconds(30), Duration.ofSeconds(60));
  }
}
