package dev.ociproxy.server.pipeline;

import dev.ociproxy.core.registry.Mirror;
import dev.ociproxy.server.auth.AccessPolicy;
import dev.ociproxy.server.auth.Authenticator;
import dev.ociproxy.server.config.ProxyConfig;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.stream.ChunkedWriteHandler;
import java.util.Map;

/** Builds every client pipeline, in named steps; the only class that calls {@code addLast}. */
public final class ProxyChannelInitializer extends ChannelInitializer<SocketChannel> {
  private final ProxyConfig.Limits limits;
  private final V2Router router;
  private final AccessLog accessLog = new AccessLog();
  private final ConnectionLimiter connectionLimiter;
  private final Authenticator authenticator;
  private final AccessPolicy policy;

  /** @param authenticator null when client authentication is off */
  public ProxyChannelInitializer(ProxyConfig.Limits limits, Map<String, Mirror> mirrors, Mirror defaultMirror,
      Authenticator authenticator, AccessPolicy policy) {
    this.limits = limits;
    this.router = new V2Router(mirrors, defaultMirror);
    this.connectionLimiter = new ConnectionLimiter(limits.maxConnections());
    this.authenticator = authenticator;
    this.policy = policy;
  }

  @Override
  protected void initChannel(SocketChannel ch) {
    ChannelPipeline p = ch.pipeline();
    addTransportHandlers(p);
    addHttpHandlers(p);
    addProxyHandlers(p);
  }

  private void addTransportHandlers(ChannelPipeline p) {
    p.addLast("connectionLimit", connectionLimiter);
  }

  private void addHttpHandlers(ChannelPipeline p) {
    p.addLast("codec", new HttpServerCodec(limits.maxInitialLineLength(), limits.maxHeaderSize(), 8192));
    // Between the codec and the chunked writer, so it sees every response's LastHttpContent.
    p.addLast("requestDeadline", new RequestDeadlineHandler(limits.idleTimeout().toMillis()));
    p.addLast("keepAlive", new HttpServerKeepAliveHandler());
    p.addLast("chunkedWrite", new ChunkedWriteHandler());
  }

  private void addProxyHandlers(ChannelPipeline p) {
    p.addLast("namespaceEcho", new NamespaceEchoHandler(router.upstreamNames()));
    p.addLast("registry", new RegistryHandler(router, accessLog, authenticator, policy, limits.maxHeaders()));
  }
}
