package dev.ociproxy.server.pipeline;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.NotSslRecordException;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Closes connections whose TLS handshake or records fail — plain HTTP sent to the https port, an
 * untrusted client, a scanner — with one short DEBUG line instead of a WARN carrying a hex dump of
 * whatever the peer sent. Position: right after the {@code SslHandler}. Stateless.
 */
@ChannelHandler.Sharable
final class TlsErrorHandler extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(TlsErrorHandler.class);
  static final TlsErrorHandler INSTANCE = new TlsErrorHandler();

  private TlsErrorHandler() {}

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    Throwable t =
        cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
    if (t instanceof NotSslRecordException) {
      log.debug(
          "closing {}: not TLS (plain HTTP sent to the TLS listener?)",
          ctx.channel().remoteAddress());
      ctx.close();
    } else if (t instanceof SSLException) {
      log.debug("closing {}: TLS failed: {}", ctx.channel().remoteAddress(), t.getMessage());
      ctx.close();
    } else {
      ctx.fireExceptionCaught(cause);
    }
  }
}
