package dev.ociproxy.server;

import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.registry.FetchLimiter;
import dev.ociproxy.core.registry.Mirror;
import dev.ociproxy.server.auth.AccessPolicy;
import dev.ociproxy.server.auth.Authenticator;
import dev.ociproxy.server.auth.CredentialStore;
import dev.ociproxy.core.upstream.HttpTransport;
import dev.ociproxy.core.upstream.UpstreamClient;
import dev.ociproxy.server.config.ProxyConfig;
import dev.ociproxy.server.pipeline.ProxyChannelInitializer;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Wires the store, the upstream mirrors and the Netty server together; start and stop. */
public final class ProxyServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ProxyServer.class);

  private final ProxyConfig config;
  private final MeterRegistry meters;
  private EventLoopGroup boss;
  private EventLoopGroup workers;
  private Channel server;
  private Authenticator authenticator;

  public ProxyServer(ProxyConfig config, MeterRegistry meters) {
    this.config = config;
    this.meters = meters;
  }

  /** Binds the listener; returns the bound address (useful with port 0). */
  public InetSocketAddress start() throws InterruptedException {
    boolean epoll = Epoll.isAvailable();
    boss = epoll ? new EpollEventLoopGroup(1) : new NioEventLoopGroup(1);
    workers = epoll ? new EpollEventLoopGroup() : new NioEventLoopGroup();
    Class<? extends ServerSocketChannel> serverType =
        epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    HttpTransport transport =
        new HttpTransport(workers, epoll ? EpollSocketChannel.class : NioSocketChannel.class);

    ContentStore store = new ContentStore(config.cacheDir(), config.cacheMaxSize(), meters).open();
    if (config.verifyOnStart()) {
      store.verifyInBackground();
    }
    FetchLimiter limiter = new FetchLimiter(config.limits().maxConcurrentFetches());
    Map<String, Mirror> mirrors = new LinkedHashMap<>();
    Mirror defaultMirror = null;
    for (ProxyConfig.Upstream u : config.upstreams()) {
      Mirror m = new Mirror(new UpstreamClient(u.options(), transport), store, u.mirror(), meters, limiter);
      mirrors.put(u.name(), m);
      if (u.isDefault()) {
        defaultMirror = m;
      }
    }
    ServerBootstrap b = new ServerBootstrap()
        .group(boss, workers)
        .channel(serverType)
        .option(ChannelOption.SO_BACKLOG, 1024)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(256 * 1024, 1024 * 1024))
        .childHandler(new ProxyChannelInitializer(
            config.limits(), mirrors, defaultMirror, authenticator(), new AccessPolicy(config.auth().enabled(), config.access())));
    server = b.bind(config.listen()).sync().channel();
    InetSocketAddress bound = (InetSocketAddress) server.localAddress();
    log.info("registry proxy listening on {} ({} transport), cache {}, upstreams {}",
        bound, epoll ? "epoll" : "nio", store.root(), mirrors.keySet());
    return bound;
  }

  private Authenticator authenticator() {
    ProxyConfig.Auth a = config.auth();
    if (!a.enabled()) {
      return null;
    }
    authenticator = new Authenticator(CredentialStore.load(a.htpasswd(), a.tokens(), a.groups()), a.realm(), meters);
    return authenticator;
  }

  @Override
  public void close() {
    if (authenticator != null) {
      authenticator.close();
    }
    if (server != null) {
      server.close().syncUninterruptibly();
    }
    if (boss != null) {
      boss.shutdownGracefully(0, 5, TimeUnit.SECONDS);
    }
    if (workers != null) {
      workers.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }
}
