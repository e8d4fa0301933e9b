package dev.ociproxy.server.config;

import dev.ociproxy.core.registry.MirrorOptions;
import dev.ociproxy.core.upstream.UpstreamOptions;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import dev.ociproxy.server.auth.AccessRule;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The validated configuration. Only {@link ConfigLoader} builds it; core components receive the
 * option records inside it.
 */
public record ProxyConfig(
    InetSocketAddress listen, Path cacheDir, long cacheMaxSize, boolean verifyOnStart,
    List<Upstream> upstreams, Limits limits, Auth auth, List<AccessRule> access) {

  /** One configured upstream: how to reach it and how to cache it. */
  public record Upstream(UpstreamOptions options, MirrorOptions mirror, boolean isDefault) {
    public String name() {
      return options.name();
    }
  }

  /** Limits on what clients may send and what the proxy takes on at once. */
  public record Limits(
      int maxInitialLineLength, int maxHeaderSize, int maxHeaders, int maxConnections,
      Duration idleTimeout, int maxConcurrentFetches) {
    public static Limits defaults() {
      return new Limits(8192, 16384, 100, 4096, Duration.ofSeconds(60), 256);
    }
  }

  /**
   * Client authentication; null files mean that kind of credential is not accepted.
   *
   * @param enabled false when neither file is configured: anonymous pull, as a public mirror
   */
  public record Auth(boolean enabled, String realm, Path htpasswd, Path tokens, Map<String, Set<String>> groups) {
    public static Auth disabled() {
      return new Auth(false, "registry-proxy", null, null, Map.of());
    }
  }
}
