package dev.ociproxy.core.upstream;

import io.micrometer.core.instrument.MeterRegistry;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * Plain GETs to another replica of this proxy, pooled like upstream connections but never sharing
 * one with an upstream: no token flow, no redirects, no upstream credentials; the caller adds the
 * peer authentication. Peers are operator-configured addresses, so internal ones are allowed.
 * Thread-safe.
 */
public final class PeerHttp {
  /** The pool and meter name; parentheses keep it apart from any upstream's host-style name. */
  static final String NAME = "(peers)";

  private final HttpTransport transport;
  private final UpstreamMetrics metrics;
  private final AddressGuard guard = new AddressGuard();
  private final Duration connectTimeout;
  private final Duration firstByteTimeout;
  private final Duration readTimeout;

  public PeerHttp(
      HttpTransport transport,
      MeterRegistry meters,
      Duration connectTimeout,
      Duration firstByteTimeout,
      Duration readTimeout) {
    this.transport = transport;
    this.metrics = new UpstreamMetrics(NAME, meters);
    this.connectTimeout = connectTimeout;
    this.firstByteTimeout = firstByteTimeout;
    this.readTimeout = readTimeout;
  }

  /** Sends {@code GET uri}; the future completes when the response headers have arrived. */
  public CompletableFuture<UpstreamResponse> get(URI uri, HttpHeaders headers) {
    Endpoint e =
        Endpoint.of(
            uri,
            null,
            connectTimeout,
            readTimeout,
            firstByteTimeout,
            metrics,
            Endpoint.Reach.TRUSTED,
            guard);
    return transport
        .send(e, HttpMethod.GET, uri, headers)
        .thenApply(
            r -> {
              r.uri(uri);
              return r;
            });
  }

  public void closeIdle() {
    transport.closeIdle();
  }
}
