package dev.ociproxy.server.pipeline;

import dev.ociproxy.core.registry.Mirror;
import dev.ociproxy.server.config.ProxyConfig;
import dev.ociproxy.server.metrics.RequestMetrics;
import dev.ociproxy.server.tls.ServerTls;
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
  private final AccessLog accessLog;
  private final Extras extras;

  /**
   * The operational parts of the pipeline; each may be null to leave it out.
   *
   * @param tls listener TLS; when set, the first handler of every pipeline
   * @param admin /metrics, /healthz and /readyz, answered before the registry handler
   * @param connections tracks connections for a graceful shutdown
   * @param metrics counts finished requests
   */
  public record Extras(ServerTls tls, AdminHandler admin, Connections connections, RequestMetrics metrics) {
    public static final Extras NONE = new Extras(null, null, null, null);
  }

  public ProxyChannelInitializer(ProxyConfig.Limits limits, Map<String, Mirror> mirrors, Mirror defaultMirror) {
    this(limits, mirrors, defaultMirror, Extras.NONE);
  }

  public ProxyChannelInitializer(
      ProxyConfig.Limits limits, Map<String, Mirror> mirrors, Mirror defaultMirror, Extras extras) {
    this.limits = limits;
    this.router = new V2Router(mirrors, defaultMirror);
    this.extras = extras;
    this.accessLog = new AccessLog(extras.metrics());
  }

  @Override
  protected void initChannel(SocketChannel ch) {
    ChannelPipeline p = ch.pipeline();
    addTransportHandlers(p);
    addHttpHandlers(p);
    addProxyHandlers(p);
  }

  private void addTransportHandlers(ChannelPipeline p) {
    if (extras.tls() != null) {
      // The newest context: a renewed certificate applies to connections accepted from now on.
      p.addLast("tls", extras.tls().current().newHandler(p.channel().alloc()));
      p.addLast("tlsErrors", TlsErrorHandler.INSTANCE);
    }
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
    if (extras.connections() != null) {
      p.addLast("inFlight", extras.connections().newTracker());
    }
    p.addLast("keepAlive", new HttpServerKeepAliveHandler());
    p.addLast("chunkedWrite", new ChunkedWriteHandler());
  }

  private void addProxyHandlers(ChannelPipeline p) {
    if (extras.admin() != null) {
      // Before any client authentication: probes and scrapers carry no registry credentials.
      p.addLast("admin", extras.admin());
    }
    p.addLast("registry", new RegistryHandler(router, accessLog));
  }
}
