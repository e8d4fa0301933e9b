package dev.ociproxy.core.upstream;

import static java.util.Objects.requireNonNull;

import io.netty.handler.ssl.SslContext;
import java.net.URI;
import java.time.Duration;

/** How to reach one origin: TLS settings and timeouts; the connection pool key. */
record Endpoint(
    String scheme, String host, int port, SslContext ssl, Duration connectTimeout,
    Duration readTimeout, Duration firstByteTimeout) {
  Endpoint {
    requireNonNull(scheme, "scheme");
    requireNonNull(host, "host");
  }

  static Endpoint of(URI uri, SslContext ssl, Duration connectTimeout, Duration readTimeout,
      Duration firstByteTimeout) {
    boolean https = "https".equalsIgnoreCase(uri.getScheme());
    int port = uri.getPort() != -1 ? uri.getPort() : https ? 443 : 80;
    return new Endpoint(
        https ? "https" : "http", uri.getHost(), port, https ? ssl : null, connectTimeout,
        readTimeout, firstByteTimeout);
  }

  /** The Host header value: the port is left out when it is the scheme's default. */
  String hostHeader() {
    boolean defaultPort = ("https".equals(scheme) && port == 443) || ("http".equals(scheme) && port == 80);
    String h = host.contains(":") ? "[" + host + "]" : host;
    return defaultPort ? h : h + ":" + port;
  }

  String poolKey() {
    return scheme + "://" + host + ":" + port + "#" + System.identityHashCode(ssl);
  }
}
