package dev.ociproxy.server.pipeline;

import dev.ociproxy.server.metrics.RequestMetrics;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.FileRegion;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.AttributeKey;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One line per request: method, path, status, bytes, duration, cache outcome, upstream. The same
 * facts travel as SLF4J key-value pairs, which the JSON log layout writes as fields; the text line
 * is unchanged. Each finished request is also recorded in the request metrics.
 *
 * <p>The line is written by observing the pipeline, as Zuul's {@code AccessLogChannelHandler} does:
 * {@link Inbound} opens an {@link Entry} for each request, {@link Outbound} takes the status and
 * counts the body bytes as they are written and ends the entry when the response's last part has
 * been written (aborted if that write failed), and a connection that closes before then ends it
 * aborted. Handlers that know more (route, upstream, user, cache outcome) add it to {@link
 * #current}. Both sit after the admin handler (its requests are not logged) and before the chunked
 * writer (so they see the chunks it makes of a file).
 */
final class AccessLog {
  private static final Logger log = LoggerFactory.getLogger("access");
  private static final AttributeKey<Entry> CURRENT = AttributeKey.valueOf(AccessLog.class, "entry");

  private final @Nullable RequestMetrics metrics;
  private final Inbound inbound = new Inbound();
  private final Outbound outbound = new Outbound();

  AccessLog() {
    this(null);
  }

  /**
   * @param metrics where finished requests are counted, or null for none
   */
  AccessLog(@Nullable RequestMetrics metrics) {
    this.metrics = metrics;
  }

  Inbound inbound() {
    return inbound;
  }

  Outbound outbound() {
    return outbound;
  }

  /** The entry of the request {@code ch} is answering, or null before its first request. */
  static Entry current(Channel ch) {
    return ch.attr(CURRENT).get();
  }

  Entry begin(HttpRequest req, SocketAddress remote) {
    Entry e = new Entry(req.method().name(), req.uri(), System.nanoTime());
    e.remote = remote instanceof InetSocketAddress a ? a.getHostString() : String.valueOf(remote);
    return e;
  }

  /**
   * Opens an entry per request; ends it aborted when the connection closes before the response
   * ends.
   */
  @ChannelHandler.Sharable
  final class Inbound extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof HttpRequest req) {
        ctx.channel().attr(CURRENT).set(begin(req, ctx.channel().remoteAddress()));
      }
      ctx.fireChannelRead(msg);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      Entry e = current(ctx.channel());
      // Once the last part is being written, that write's listener tells how it went.
      if (e != null && !e.ended && !e.ending) {
        e.aborted();
        end(e);
      }
      ctx.fireChannelInactive();
    }
  }

  /** Takes the status and body bytes from what is written; ends the entry with the last part. */
  @ChannelHandler.Sharable
  final class Outbound extends ChannelOutboundHandlerAdapter {
    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
      Entry e = current(ctx.channel());
      if (e == null || e.ending) {
        ctx.write(msg, promise);
        return;
      }
      if (msg instanceof HttpResponse r) {
        e.status = r.status().code();
      }
      if (msg instanceof HttpContent c) {
        e.bytes += c.content().readableBytes();
      } else if (msg instanceof FileRegion f) {
        e.bytes += f.count();
      }
      if (!(msg instanceof LastHttpContent)) {
        ctx.write(msg, promise);
        return;
      }
      e.ending = true;
      ChannelPromise p = promise.unvoid();
      // Added before the handlers nearer the socket add theirs: the line is written first.
      p.addListener(
          (ChannelFutureListener)
              f -> {
                if (!f.isSuccess()) {
                  e.aborted();
                }
                end(e);
              });
      ctx.write(msg, p);
    }
  }

  private void end(Entry e) {
    if (e.ended) {
      return;
    }
    e.ended = true;
    long nanos = System.nanoTime() - e.startNanos;
    if (metrics != null) {
      metrics.record(e.route, e.status, e.upstream, e.cache, e.bytes, nanos, e.aborted);
    }
    if (log.isInfoEnabled() && !(e.quiet && e.status == 200)) {
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
          .log(
              "{} {} {} {}B {}ms cache={} upstream={} user={}{}",
              e.method,
              uri,
              e.status,
              e.bytes,
              ms,
              e.cache,
              e.upstream,
              e.user,
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
    String route = "other";
    String remote = "-";
    boolean aborted;

    /** Counted but not logged: another replica's health check, every few seconds. */
    boolean quiet;

    /** The response's last part is being written. */
    boolean ending;

    boolean ended;

    Entry(String method, String uri, long startNanos) {
      this.method = method;
      this.uri = uri;
      this.startNanos = startNanos;
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

    void quiet() {
      quiet = true;
    }

    @Override
    public String toString() {
      return method + " " + uri;
    }
  }
}
