package dev.ociproxy.server.config;

import dev.ociproxy.core.registry.MirrorOptions;
import dev.ociproxy.core.upstream.UpstreamOptions;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;

/**
 * The validated configuration. Only {@link ConfigLoader} builds it; core components receive the
 * option records inside it.
 */
public record ProxyConfig(
    InetSocketAddress listen, Path cacheDir, long cacheMaxSize, boolean verifyOnStart,
    List<Upstream> upstreams, Limits limits) {

  /** One configured upstream: how to reach it and how to cache it. */
  public record Upstream(UpstreamOptions options, MirrorOptions mirror, boolean isDefault) {
    public String name() {
      return options.name();
    }
  }

  /** Limits on what clients may send. */
  public record Limits(int maxInitialLineLength, int maxHeaderSize, int maxContentLength) {
    public static Limits defaults() {
      return new Limits(8192, 16384, 0);
    }
  }
}
