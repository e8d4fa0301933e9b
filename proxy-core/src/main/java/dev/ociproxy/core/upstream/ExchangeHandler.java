package dev.ociproxy.core.upstream;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.time.Duration;

/**
 * Last handler of an upstream connection (after {@code HttpClientCodec} and the idle timer): routes
 * response parts to the connection's current {@link Exchange}. Anything arriving with no exchange
 * in progress is released and the connection closed, since the framing can no longer be trusted.
 */
final class ExchangeHandler extends ChannelInboundHandlerAdapter {
  /** A download paused this many read timeouts in a row is given up (see userEventTriggered). */
  static final int STALLED_DISK_TIMEOUTS = 10;

  private Exchange current;
  private boolean keepAlive;

  void begin(Exchange exchange) {
    this.current = exchange;
  }

  void end(Exchange exchange) {
    if (current == exchange) {
      current = null;
    }
  }

  void fail(Throwable cause) {
    Exchange e = current;
    current = null;
    if (e != null) {
      e.fail(cause);
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    Exchange e = current;
    if (e == null) {
      ReferenceCountUtil.release(msg);
      ctx.close();
      return;
    }
    if (msg instanceof HttpResponse response) {
      if (response.status().equals(HttpResponseStatus.CONTINUE)) {
        ReferenceCountUtil.release(msg);
        ctx.read();
        return;
      }
      e.attach(ctx.channel());
      keepAlive = Exchange.keepAlive(response);
      e.onHeaders(response);
    }
    if (msg instanceof HttpContent content) {
      e.onContent(content.content(), content instanceof LastHttpContent, keepAlive);
    } else {
      ReferenceCountUtil.release(msg);
    }
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof IdleStateEvent) {
      Exchange e = current;
      Duration paused = e == null ? null : e.pausedFor();
      if (paused != null) {
        // We stopped reading (the disk is behind): the silence is ours, not the upstream's. A
        // pause that outlasts many read timeouts means a disk that takes nothing any more.
        Duration limit = e.readTimeout().multipliedBy(STALLED_DISK_TIMEOUTS);
        if (paused.compareTo(limit) < 0) {
          return;
        }
        fail(new IOException("the cache disk took none of this download's bytes for " + paused.toSeconds()
            + " s (" + STALLED_DISK_TIMEOUTS + " read timeouts); download stopped"));
        ctx.close();
        return;
      }
      if (e != null) {
        fail(
            new UpstreamTimeoutException(
                e.headersReceived()
                    ? "upstream stopped sending the body"
                    : "upstream did not answer in time"));
      }
      ctx.close();
      return;
    }
    ctx.fireUserEventTriggered(evt);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    fail(new UpstreamUnavailableException("upstream closed the connection", null));
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    fail(new UpstreamUnavailableException("upstream connection failed: " + cause.getMessage(), cause));
    ctx.close();
  }
}
