package dev.ociproxy.server.pipeline;

import dev.ociproxy.core.oci.OciErrorCode;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResultProvider;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.ReferenceCountUtil;
import org.jspecify.annotations.Nullable;

/**
 * Answers the requests no router should see, before anything parses them (as Zuul's {@code
 * Http1DecoderFailureRejectingHandler} does), each with the spec's JSON error body:
 *
 * <ul>
 *   <li>a head the codec could not decode: 400, or 414/431/413 when a limit was hit; then closed,
 *       since where the next request starts is no longer known;
 *   <li>more headers than {@code limits.maxHeaders}: 431, then closed (as the codec does for too
 *       many header bytes);
 *   <li>a request URI with a broken percent-escape ({@code %zz}, a trailing {@code %}): 400 on a
 *       connection that stays open, since its framing is sound.
 * </ul>
 *
 * <p>Sits after the access log (rejections are logged like any answer) and before the chunked
 * writer and registry handler. A request body the codec cannot frame arrives after its request was
 * answered, so it is not answered again: the connection is closed. Stateless, so one instance
 * serves every channel.
 */
@ChannelHandler.Sharable
final class MalformedRequestRejector extends ChannelInboundHandlerAdapter {
  private final int maxHeaders;

  MalformedRequestRejector(int maxHeaders) {
    this.maxHeaders = maxHeaders;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof HttpRequest req) {
      FullHttpResponse rejection = rejection(ctx, req);
      if (rejection != null) {
        ReferenceCountUtil.release(msg);
        if (rejection
            .headers()
            .contains(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE, true)) {
          ctx.writeAndFlush(rejection).addListener(ChannelFutureListener.CLOSE);
        } else {
          ctx.writeAndFlush(rejection);
        }
        return;
      }
    } else if (msg instanceof DecoderResultProvider p && p.decoderResult().isFailure()) {
      ReferenceCountUtil.release(msg);
      ctx.close();
      return;
    }
    ctx.fireChannelRead(msg);
  }

  /** The answer to a request that must not be routed, or null to pass it on. */
  private @Nullable FullHttpResponse rejection(ChannelHandlerContext ctx, HttpRequest req) {
    if (req.decoderResult().isFailure()) {
      Throwable cause = req.decoderResult().cause();
      int status =
          cause instanceof TooLongHttpLineException
              ? 414
              : cause instanceof TooLongHttpHeaderException
                  ? 431
                  : cause instanceof TooLongFrameException ? 413 : 400;
      // The method may be part of what failed to decode: never trust it to mean HEAD.
      return closing(
          ErrorResponses.of(
              ctx.alloc(), status, OciErrorCode.UNSUPPORTED, "malformed request", false));
    }
    boolean head = req.method().equals(HttpMethod.HEAD);
    if (req.headers().size() > maxHeaders) {
      return closing(
          ErrorResponses.of(
              ctx.alloc(),
              431,
              OciErrorCode.UNSUPPORTED,
              "too many headers (limits.maxHeaders=" + maxHeaders + ")",
              head));
    }
    int bad = brokenEscape(req.uri());
    if (bad >= 0) {
      int query = req.uri().indexOf('?');
      boolean inPath = query < 0 || bad < query;
      return ErrorResponses.of(
          ctx.alloc(),
          400,
          inPath ? OciErrorCode.NAME_INVALID : OciErrorCode.UNSUPPORTED,
          "malformed percent-encoding at index "
              + bad
              + " of the request "
              + (inPath ? "path" : "query"),
          head);
    }
    return null;
  }

  private static FullHttpResponse closing(FullHttpResponse r) {
    r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    return r;
  }

  /** The index of the first '%' not followed by two hex digits, or -1 when every escape decodes. */
  static int brokenEscape(String uri) {
    for (int i = uri.indexOf('%'); i >= 0; i = uri.indexOf('%', i + 1)) {
      if (i + 2 >= uri.length() || !isHex(uri.charAt(i + 1)) || !isHex(uri.charAt(i + 2))) {
        return i;
      }
    }
    return -1;
  }

  private static boolean isHex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }
}
