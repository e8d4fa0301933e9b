package dev.ociproxy.server.pipeline;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.util.ArrayDeque;

/**
 * Says {@code Connection: keep-alive} to an HTTP/1.0 client that asked for it, when the response
 * does keep the connection. HTTP/1.0 closes by default, so without the header such a client (ab,
 * old proxies and load balancers) waits for a close that never comes. Between the codec and Netty's
 * keep-alive handler: it sees the request first and the response after that handler has decided
 * whether the connection persists.
 */
final class Http10KeepAlive extends ChannelDuplexHandler {
  // One entry per request not yet answered: a pipelined request passes here before the answer to
  // the one ahead of it (FlowControlHandler holds it further on).
  private final ArrayDeque<Boolean> http10KeepAlive = new ArrayDeque<>();

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof HttpRequest request) {
      http10KeepAlive.add(
          request.protocolVersion().equals(HttpVersion.HTTP_1_0) && HttpUtil.isKeepAlive(request));
    }
    ctx.fireChannelRead(msg);
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (msg instanceof HttpResponse response
        && response.status().codeClass() != HttpStatusClass.INFORMATIONAL) {
      Boolean asked = http10KeepAlive.poll();
      // Only with a Content-Length: HTTP/1.0 has no chunked framing to end a response by.
      if (Boolean.TRUE.equals(asked)
          && HttpUtil.isContentLengthSet(response)
          && HttpUtil.isKeepAlive(response)) {
        response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
      }
    }
    ctx.write(msg, promise);
  }
}
