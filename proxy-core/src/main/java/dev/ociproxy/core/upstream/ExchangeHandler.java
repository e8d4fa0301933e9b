package dev.ociproxy.core.upstream;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResultProvider;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * Last handler of an upstream connection (after the {@link ResponseDecoder} and the idle timer):
 * routes response parts to the connection's current {@link Exchange} and decides whether the
 * connection may carry another exchange.
 *
 * <p>A connection is reused only after an HTTP/1.1 keep-alive response whose framing was
 * unambiguous (one {@code Content-Length}, or chunked without one) and that was read to its end
 * with no byte after it. A malformed response or a 1xx we never ask for fails the exchange. While
 * the connection is idle in the pool it keeps reading: any byte that arrives then, like any byte
 * left over after a response, is not a response to anything we sent, so the connection is closed
 * rather than read later as the answer to another request (response smuggling). Each of these is
 * logged and counted ({@link UpstreamMetrics#framingRefused}).
 */
final class ExchangeHandler extends ChannelInboundHandlerAdapter {
  /** A download paused this many read timeouts in a row is given up (see userEventTriggered). */
  static final int STALLED_DISK_TIMEOUTS = 10;

  private final ResponseDecoder decoder;
  private final UpstreamMetrics metrics;
  private @Nullable ChannelHandlerContext ctx;
  private @Nullable Exchange current;
  private boolean keepAlive;

  /** Set once this connection was refused: it is closed, or closes after its response. */
  private boolean refused;

  /** The last request sent on this connection ("GET /v2/..."), for the log. */
  private String lastAsked = "nothing yet";

  ExchangeHandler(ResponseDecoder decoder, UpstreamMetrics metrics) {
    this.decoder = decoder;
    this.metrics = metrics;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
  }

  void begin(Exchange exchange) {
    this.current = exchange;
    this.lastAsked = exchange.asked();
    decoder.expect(exchange.method());
  }

  /**
   * Whether the connection, idle now, may carry another exchange: false when it holds bytes of
   * something we never asked for (which closes it). Called on the event loop when the connection is
   * released and when it is taken from the pool.
   */
  boolean reusable() {
    ChannelHandlerContext ctx = this.ctx;
    if (ctx == null || !ctx.channel().isActive()) {
      return false;
    }
    if (decoder.holdsBytes()) {
      refuse(ctx, "bytes_after_response", "bytes after the complete response");
      return false;
    }
    return true;
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
      refuse(ctx, "bytes_after_response", "a response to no request: " + describe(msg));
      return;
    }
    if (msg instanceof DecoderResultProvider p && p.decoderResult().isFailure()) {
      ReferenceCountUtil.release(msg);
      String why = String.valueOf(p.decoderResult().cause().getMessage());
      refuse(ctx, "malformed", why);
      fail(new UpstreamUnavailableException("upstream sent a malformed response: " + why, null));
      return;
    }
    if (msg instanceof HttpResponse response) {
      if (response.status().codeClass() == HttpStatusClass.INFORMATIONAL) {
        // We never send Expect or Upgrade: a 1xx is not an answer to anything we asked.
        ReferenceCountUtil.release(msg);
        refuse(ctx, "unsolicited_1xx", "status " + response.status().code());
        fail(
            new UpstreamUnavailableException(
                "upstream sent an unsolicited " + response.status().code() + " response", null));
        return;
      }
      keepAlive = reusableFraming(ctx, response);
      e.onHeaders(response);
    }
    if (msg instanceof HttpContent content) {
      e.onContent(content.content(), content instanceof LastHttpContent, keepAlive);
    } else {
      ReferenceCountUtil.release(msg);
    }
  }

  /**
   * Whether the response may leave its connection reusable: HTTP/1.1, keep-alive, and framed one
   * way only. A response framed two ways is read by its {@code Transfer-Encoding} (RFC 9112 6.3),
   * and its connection closed after it.
   */
  private boolean reusableFraming(ChannelHandlerContext ctx, HttpResponse response) {
    boolean both =
        decoder.tookBothLengths()
            || (response.headers().contains(HttpHeaderNames.TRANSFER_ENCODING)
                && response.headers().contains(HttpHeaderNames.CONTENT_LENGTH));
    int lengths = response.headers().getAll(HttpHeaderNames.CONTENT_LENGTH).size();
    if (both || lengths > 1) {
      refuse(
          ctx,
          "ambiguous_framing",
          both ? "both Content-Length and Transfer-Encoding" : lengths + " Content-Length headers");
      return false;
    }
    return response.protocolVersion().equals(HttpVersion.HTTP_1_1)
        && HttpUtil.isKeepAlive(response);
  }

  /** Logs and counts a framing refusal; the connection is closed now, or after its response. */
  private void refuse(ChannelHandlerContext ctx, String reason, String arrived) {
    if (refused) {
      return; // one refusal per connection: what follows in its buffer is the same lie
    }
    refused = true;
    metrics.framingRefused(reason, lastAsked, arrived);
    if (!reason.equals("ambiguous_framing")) {
      ctx.close();
    }
  }

  private static String describe(Object msg) {
    if (msg instanceof HttpResponse r) {
      return "status " + r.status().code();
    }
    return msg instanceof HttpContent c
        ? c.content().readableBytes() + " body bytes"
        : msg.getClass().getSimpleName();
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    if (current == null && ctx.channel().isActive()) {
      reusable(); // idle: a partial message the decoder holds is not ours either
    }
    ctx.fireChannelReadComplete();
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof IdleStateEvent) {
      Exchange e = current;
      Duration paused = e == null ? null : e.pausedFor();
      if (e != null && paused != null) {
        // We stopped reading (the disk is behind): the silence is ours, not the upstream's. A
        // pause that outlasts many read timeouts means a disk that takes nothing any more.
        Duration limit = e.readTimeout().multipliedBy(STALLED_DISK_TIMEOUTS);
        if (paused.compareTo(limit) < 0) {
          return;
        }
        fail(
            new IOException(
                "the cache disk took none of this download's bytes for "
                    + paused.toSeconds()
                    + " s ("
                    + STALLED_DISK_TIMEOUTS
                    + " read timeouts); download stopped"));
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
    fail(
        new UpstreamUnavailableException(
            "upstream connection failed: " + cause.getMessage(), cause));
    ctx.close();
  }
}
