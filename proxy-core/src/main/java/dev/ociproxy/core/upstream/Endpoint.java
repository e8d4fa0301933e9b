package dev.ociproxy.core.upstream;

import static java.util.Objects.requireNonNull;

import io.netty.handler.ssl.SslContext;
import java.net.InetAddress;
import java.net.URI;
import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * How one upstream reaches one origin: TLS settings, timeouts, the upstream's meters and whether
 * the origin is its own; the connection pool key. Connections are pooled per upstream as well as
 * per origin, so that one upstream's connection never carries another's request.
 */
record Endpoint(
    String scheme,
    String host,
    int port,
    @Nullable SslContext ssl,
    Duration connectTimeout,
    Duration readTimeout,
    Duration firstByteTimeout,
    UpstreamMetrics metrics,
    Reach reach,
    AddressGuard guard) {
  /** What the origin is to the upstream. */
  enum Reach {
    /** The upstream's own origin. */
    UPSTREAM,
    /** A host the operator listed ({@code trustedRealmHosts}). */
    TRUSTED,
    /** Anywhere else (a redirect or realm the upstream chose): no internal addresses. */
    ELSEWHERE
  }

  Endpoint {
    requireNonNull(scheme, "scheme");
    requireNonNull(host, "host");
    requireNonNull(metrics, "metrics");
    requireNonNull(reach, "reach");
    requireNonNull(guard, "guard");
  }

  /** {@code ssl} null: no TLS to offer (replicas talk plain http to each other). */
  static Endpoint of(
      URI uri,
      @Nullable SslContext ssl,
      Duration connectTimeout,
      Duration readTimeout,
      Duration firstByteTimeout,
      UpstreamMetrics metrics,
      Reach reach,
      AddressGuard guard) {
    boolean https = "https".equalsIgnoreCase(uri.getScheme());
    int port = uri.getPort() != -1 ? uri.getPort() : https ? 443 : 80;
    return new Endpoint(
        https ? "https" : "http",
        uri.getHost(),
        port,
        https ? ssl : null,
        connectTimeout,
        readTimeout,
        firstByteTimeout,
        metrics,
        reach,
        guard);
  }

  /** Whether a new connection that reached {@code peer} may be used (see {@link AddressGuard}). */
  boolean admits(InetAddress peer) {
    return switch (reach) {
      case UPSTREAM -> {
        guard.home(peer);
        yield true;
      }
      case TRUSTED -> true;
      case ELSEWHERE -> guard.allows(peer);
    };
  }

  /** The Host header value: the port is left out when it is the scheme's default. */
  String hostHeader() {
    boolean defaultPort =
        ("https".equals(scheme) && port == 443) || ("http".equals(scheme) && port == 80);
    String h = host.contains(":") ? "[" + host + "]" : host;
    return defaultPort ? h : h + ":" + port;
  }

  String poolKey() {
    return metrics.upstream()
        + " "
        + scheme
        + "://"
        + host
        + ":"
        + port
        + "#"
        + System.identityHashCode(ssl);
  }
}
