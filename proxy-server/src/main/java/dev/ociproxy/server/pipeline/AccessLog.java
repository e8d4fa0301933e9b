package dev.ociproxy.server.pipeline;

import dev.ociproxy.server.metrics.RequestMetrics;
import io.netty.handler.codec.http.HttpRequest;
import java.net.SocketAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One line per request: method, path, status, bytes, duration, cache outcome, upstream. The same
 * facts travel as SLF4J key-value pairs, which the JSON log layout writes as fields; the text line
 * is unchanged. Each finished request is also recorded in the request metrics.
 */
final class AccessLog {
  private static final Logger log = LoggerFactory.getLogger("access");

  private final RequestMetrics metrics;

  AccessLog() {
    this(null);
  }

  /** @param metrics where finished requests are counted, or null for none */
  AccessLog(RequestMetrics metrics) {
    this.metrics = metrics;
  }

  Entry begin(HttpRequest req) {
    return new Entry(req.method().name(), req.uri(), System.nanoTime());
  }

  Entry begin(HttpRequest req, SocketAddress remote) {
    Entry e = begin(req);
    e.remote = remote instanceof java.net.InetSocketAddress a ? a.getHostString() : String.valueOf(remote);
    return e;
  }

  void end(Entry e) {
    if (e.ended) {
      return;
    }
    e.ended = true;
    long nanos = System.nanoTime() - e.startNanos;
    if (metrics != null) {
      metrics.record(e.route, e.status, e.upstream, e.cache, e.bytes, nanos, e.aborted);
    }
    if (log.isInfoEnabled()) {
      String uri = e.uri.length() > 300 ? e.uri.substring(0, 300) + "…" : e.uri;
      long ms = nanos / 1_000_000;
      log.atInfo()
          .addKeyValue("method", e.method)
          .addKeyValue("path", uri)
          .addKeyValue("status", e.status)
          .addKeyValue("bytes", e.bytes)
          .addKeyValue("duration_ms", ms)
          .addKeyValue("cache", e.cache)
          .addKeyValue("upstream", e.upstream)
          .addKeyValue("user", e.user)
          .addKeyValue("route", e.route)
          .addKeyValue("aborted", e.aborted)
          .addKeyValue("remote", e.remote)
          .log("{} {} {} {}B {}ms cache={} upstream={} user={}{}",
              e.method, uri, e.status, e.bytes, ms, e.cache, e.upstream, e.user, e.aborted ? " aborted" : "");
    }
  }

  /** What is known about one request so far; used on its channel's event loop only. */
  static final class Entry {
    final String method;
    final String uri;
    final long startNanos;
    int status;
    long bytes;
    String cache = "-";
    String upstream = "-";
    String user = "-";
    String route = "other";
    String remote = "-";
    boolean aborted;
    boolean ended;
    boolean ending;

    Entry(String method, String uri, long startNanos) {
      this.method = method;
      this.uri = uri;
      this.startNanos = startNanos;
    }

    Entry status(int s) {
      status = s;
      return this;
    }

    Entry bytes(long b) {
      bytes = b;
      return this;
    }

    void cache(String c) {
      cache = c;
    }

    void upstream(String u) {
      upstream = u;
    }

    void user(String u) {
      user = u;
    }

    /** The kind of request for metrics: base, manifest, blob, tags (default: other). */
    void route(String r) {
      route = r;
    }

    void aborted() {
      aborted = true;
    }

    boolean ended() {
      return ended;
    }

    /** The response's last part is being written. */
    void ending() {
      ending = true;
    }

    boolean isEnding() {
      return ending;
    }

    @Override
    public String toString() {
      return method + " " + uri;
    }
  }
}
