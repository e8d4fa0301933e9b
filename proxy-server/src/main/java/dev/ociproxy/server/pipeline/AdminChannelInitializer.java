package dev.ociproxy.server.pipeline;

import static java.util.Objects.requireNonNull;

import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.timeout.IdleStateHandler;
import java.util.concurrent.TimeUnit;

/**
 * Builds the pipeline of the optional admin listener ({@code admin.listen}): plain HTTP with only
 * {@code /metrics}, {@code /healthz} and {@code /readyz}. Kept apart from {@link
 * ProxyChannelInitializer} so the registry pipeline stays exactly as it is.
 */
public final class AdminChannelInitializer extends ChannelInitializer<SocketChannel> {
  private final AdminHandler admin;

  public AdminChannelInitializer(AdminHandler routes) {
    this.admin = requireNonNull(routes, "routes").standalone();
  }

  @Override
  protected void initChannel(SocketChannel ch) {
    ChannelPipeline p = ch.pipeline();
    p.addLast("idle", new IdleStateHandler(0, 0, 120, TimeUnit.SECONDS) {
      @Override
      protected void channelIdle(io.netty.channel.ChannelHandlerContext ctx, io.netty.handler.timeout.IdleStateEvent evt) {
        ctx.close();
      }
    });
    p.addLast("codec", new HttpServerCodec(4096, 8192, 8192));
    p.addLast("keepAlive", new HttpServerKeepAliveHandler());
    p.addLast("admin", admin);
  }
}
