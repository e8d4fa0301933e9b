package dev.ociproxy.server.pipeline;

import dev.ociproxy.core.registry.Mirror;
import dev.ociproxy.server.config.ProxyConfig;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.stream.ChunkedWriteHandler;
import io.netty.handler.timeout.IdleStateHandler;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Builds every client pipeline, in named steps; the only class that calls {@code addLast}. */
public final class ProxyChannelInitializer extends ChannelInitializer<SocketChannel> {
  private final ProxyConfig.Limits limits;
  private final V2Router router;
  private final AccessLog accessLog = new AccessLog();

  public ProxyChannelInitializer(ProxyConfig.Limits limits, Map<String, Mirror> mirrors, Mirror defaultMirror) {
    this.limits = limits;
    this.router = new V2Router(mirrors, defaultMirror);
  }

  @Override
  protected void initChannel(SocketChannel ch) {
    ChannelPipeline p = ch.pipeline();
    addTransportHandlers(p);
    addHttpHandlers(p);
    addProxyHandlers(p);
  }

  private void addTransportHandlers(ChannelPipeline p) {
    // Idle client connections are closed; a response in progress is not idle (writes count).
    p.addLast("idle", new IdleStateHandler(0, 0, 120, TimeUnit.SECONDS) {
      @Override
      protected void channelIdle(io.netty.channel.ChannelHandlerContext ctx, io.netty.handler.timeout.IdleStateEvent evt) {
        ctx.close();
      }
    });
  }

  private void addHttpHandlers(ChannelPipeline p) {
    p.addLast("codec", new HttpServerCodec(limits.maxInitialLineLength(), limits.maxHeaderSize(), 8192));
    p.addLast("keepAlive", new HttpServerKeepAliveHandler());
    p.addLast("chunkedWrite", new ChunkedWriteHandler());
  }

  private void addProxyHandlers(ChannelPipeline p) {
    p.addLast("registry", new RegistryHandler(router, accessLog));
  }
}
