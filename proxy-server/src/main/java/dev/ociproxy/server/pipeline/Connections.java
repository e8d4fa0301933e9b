package dev.ociproxy.server.pipeline;

import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * Every open client connection and whether it is in the middle of a response, so a graceful
 * shutdown can close idle keep-alive connections at once and busy ones right after the response
 * they are sending. Thread-safe.
 */
public final class Connections {
  private static final AttributeKey<Tracker> TRACKER =
      AttributeKey.valueOf(Connections.class, "tracker");

  private final ChannelGroup all = new DefaultChannelGroup("clients", GlobalEventExecutor.INSTANCE);
  private volatile boolean draining;

  /** A new per-connection tracker; it sits right after the HTTP codec. */
  Tracker newTracker() {
    return new Tracker();
  }

  /** Open client connections. */
  public int size() {
    return all.size();
  }

  /**
   * Stops keep-alive: idle connections are closed now, busy ones after their current response. The
   * future completes when every connection open now has closed.
   */
  public CompletableFuture<Void> drain() {
    draining = true;
    for (Channel ch : all) {
      Tracker t = ch.attr(TRACKER).get();
      if (t != null) {
        ch.eventLoop().execute(t::closeIfIdle);
      }
    }
    CompletableFuture<Void> done = new CompletableFuture<>();
    all.newCloseFuture().addListener(f -> done.complete(null));
    return done;
  }

  /** Closes every connection now, whatever it is doing. */
  public void closeAll() {
    all.close().awaitUninterruptibly();
  }

  /**
   * Marks the connection busy from a request's arrival until the last piece of its response has
   * been written; closes it then if a drain has begun. Position: right after the HTTP codec.
   */
  final class Tracker extends ChannelDuplexHandler {
    private @Nullable ChannelHandlerContext ctx; // from handlerAdded on
    private boolean busy;

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      this.ctx = ctx;
      ctx.channel().attr(TRACKER).set(this);
      all.add(ctx.channel());
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof HttpRequest) {
        busy = true;
      }
      ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
      if (draining && msg instanceof HttpResponse r) {
        r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      }
      if (!(msg instanceof LastHttpContent)) {
        ctx.write(msg, promise);
        return;
      }
      ChannelPromise p = promise.unvoid();
      p.addListener(
          (ChannelFutureListener)
              f -> {
                busy = false;
                if (draining) {
                  // After the other listeners of this write (the response's own completion and
                  // access
                  // log), so a finished response is not mistaken for an aborted one.
                  ctx.executor().execute(ctx::close);
                }
              });
      ctx.write(msg, p);
    }

    /** Runs on the channel's event loop. */
    void closeIfIdle() {
      ChannelHandlerContext c = ctx;
      if (!busy && c != null) {
        c.close();
      }
    }
  }
}
