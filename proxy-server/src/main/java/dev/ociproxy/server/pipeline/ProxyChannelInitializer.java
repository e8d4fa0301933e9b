package dev.ociproxy.server.pipeline;

import dev.ociproxy.server.admin.AdminHandler;
import dev.ociproxy.server.auth.AccessPolicy;
import dev.ociproxy.server.auth.Authenticator;
import dev.ociproxy.server.config.ProxyConfig;
import dev.ociproxy.server.metrics.RequestMetrics;
import dev.ociproxy.server.tls.ServerTls;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.flow.FlowControlHandler;
import io.netty.handler.stream.ChunkedWriteHandler;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/** Builds every client pipeline, in named steps; the only class that calls {@code addLast}. */
public final class ProxyChannelInitializer extends ChannelInitializer<SocketChannel> {
  private final ProxyConfig.Limits limits;
  private final V2Router router;
  private final AccessLog accessLog;
  private final MalformedRequestRejector rejector;
  private final ConnectionLimiter connectionLimiter;
  private final ClientAccess access;
  private final Extras extras;

  /**
   * The operational parts of the pipeline; each may be null to leave it out.
   *
   * @param tls listener TLS; when set, the first handler of every pipeline
   * @param admin /metrics, /healthz and /readyz, answered before the registry handler
   * @param connections tracks connections for a graceful shutdown
   * @param metrics counts finished requests
   * @param peers the fleet's internal path, with a {@code cluster} section
   */
  public record Extras(
      @Nullable ServerTls tls,
      @Nullable AdminHandler admin,
      @Nullable Connections connections,
      @Nullable RequestMetrics metrics,
      @Nullable PeerPath peers) {
    public static final Extras NONE = new Extras(null, null, null, null);

    public Extras(
        @Nullable ServerTls tls,
        @Nullable AdminHandler admin,
        @Nullable Connections connections,
        @Nullable RequestMetrics metrics) {
      this(tls, admin, connections, metrics, null);
    }
  }

  /**
   * @param defaultUpstream what names without an upstream prefix mean; null when there is none
   * @param authenticator null when client authentication is off
   */
  public ProxyChannelInitializer(
      ProxyConfig.Limits limits,
      Map<String, Upstream> upstreams,
      @Nullable Upstream defaultUpstream,
      @Nullable Authenticator authenticator,
      AccessPolicy policy) {
    this(limits, upstreams, defaultUpstream, authenticator, policy, Extras.NONE);
  }

  /**
   * @param defaultUpstream what names without an upstream prefix mean; null when there is none
   * @param authenticator null when client authentication is off
   */
  public ProxyChannelInitializer(
      ProxyConfig.Limits limits,
      Map<String, Upstream> upstreams,
      @Nullable Upstream defaultUpstream,
      @Nullable Authenticator authenticator,
      AccessPolicy policy,
      Extras extras) {
    this.limits = limits;
    this.router = new V2Router(upstreams, defaultUpstream);
    this.connectionLimiter = new ConnectionLimiter(limits.maxConnections());
    this.access = new ClientAccess(authenticator, policy);
    this.extras = extras;
    this.accessLog = new AccessLog(extras.metrics());
    this.rejector = new MalformedRequestRejector(limits.maxHeaders());
  }

  @Override
  protected void initChannel(SocketChannel ch) {
    addHandlers(ch.pipeline());
  }

  /** Adds every handler to {@code p}; separate from {@link #initChannel} for tests. */
  void addHandlers(ChannelPipeline p) {
    addTransportHandlers(p);
    addHttpHandlers(p);
    addProxyHandlers(p);
  }

  private void addTransportHandlers(ChannelPipeline p) {
    p.addLast("connectionLimit", connectionLimiter);
    ServerTls tls = extras.tls();
    if (tls != null) {
      // The newest context: a renewed certificate applies to connections accepted from now on.
      p.addLast("tls", tls.current().newHandler(p.channel().alloc()));
      p.addLast("tlsErrors", TlsErrorHandler.INSTANCE);
    }
  }

  private void addHttpHandlers(ChannelPipeline p) {
    p.addLast(
        "codec", new HttpServerCodec(limits.maxInitialLineLength(), limits.maxHeaderSize(), 8192));
    Connections connections = extras.connections();
    if (connections != null) {
      p.addLast("inFlight", connections.newTracker());
    }
    // Between the codec and the chunked writer, so it sees every response's LastHttpContent.
    p.addLast("requestDeadline", new RequestDeadlineHandler(limits.idleTimeout().toMillis()));
    p.addLast("http10KeepAlive", new Http10KeepAlive());
    p.addLast("keepAlive", new HttpServerKeepAliveHandler());
    // RegistryHandler turns autoRead off while it answers, but requests already decoded from the
    // same read would still arrive and be answered out of order: release one message per read().
    p.addLast("flowControl", new FlowControlHandler());
  }

  private void addProxyHandlers(ChannelPipeline p) {
    AdminHandler admin = extras.admin();
    if (admin != null) {
      // Before client authentication (in RegistryHandler): probes and scrapers carry no registry
      // credentials. Before the access log: their requests are not logged.
      p.addLast("admin", admin);
    }
    p.addLast("accessLogIn", accessLog.inbound());
    // Nearer the socket than the chunked writer: it counts the chunks made of a file.
    p.addLast("accessLogOut", accessLog.outbound());
    p.addLast("rejectMalformed", rejector);
    p.addLast("chunkedWrite", new ChunkedWriteHandler());
    // After admin: requests admin answers never queue an entry here.
    p.addLast("namespaceEcho", new NamespaceEchoHandler(router.upstreamNames()));
    p.addLast("registry", new RegistryHandler(router, access, extras.peers()));
  }
}
