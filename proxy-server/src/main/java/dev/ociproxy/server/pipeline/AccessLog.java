package dev.ociproxy.server.pipeline;

import io.netty.handler.codec.http.HttpRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** One line per request: method, path, status, bytes, duration, cache outcome, upstream. */
final class AccessLog {
  private static final Logger log = LoggerFactory.getLogger("access");

  Entry begin(HttpRequest req) {
    return new Entry(req.method().name(), req.uri(), System.nanoTime());
  }

  void end(Entry e) {
    if (e.ended) {
      return;
    }
    e.ended = true;
    if (log.isInfoEnabled()) {
      log.info("{} {} {} {}B {}ms cache={} upstream={} user={}{}",
          e.method, e.uri.length() > 300 ? e.uri.substring(0, 300) + "…" : e.uri, e.status, e.bytes,
          (System.nanoTime() - e.startNanos) / 1_000_000, e.cache, e.upstream, e.user,
          e.aborted ? " aborted" : "");
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
