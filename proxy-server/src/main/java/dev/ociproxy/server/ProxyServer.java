package dev.ociproxy.server;

import static java.util.Objects.requireNonNull;

import dev.ociproxy.core.airgap.Airgap;
import dev.ociproxy.core.airgap.WarmJobs;
import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.cluster.Cluster;
import dev.ociproxy.core.cluster.Peers;
import dev.ociproxy.core.registry.Registry;
import dev.ociproxy.core.shared.SharedStore;
import dev.ociproxy.core.wiring.Upstreams;
import dev.ociproxy.server.admin.AdminHandler;
import dev.ociproxy.server.admin.page.StatusSources;
import dev.ociproxy.server.auth.AccessPolicy;
import dev.ociproxy.server.auth.Authenticator;
import dev.ociproxy.server.auth.CredentialStore;
import dev.ociproxy.server.config.PinFileFormat;
import dev.ociproxy.server.config.ProxyConfig;
import dev.ociproxy.server.health.Readiness;
import dev.ociproxy.server.metrics.RequestMetrics;
import dev.ociproxy.server.pipeline.Connections;
import dev.ociproxy.server.pipeline.PeerPath;
import dev.ociproxy.server.pipeline.ProxyChannelInitializer;
import dev.ociproxy.server.pipeline.Upstream;
import dev.ociproxy.server.tls.PemKeyPair;
import dev.ociproxy.server.tls.ServerTls;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
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
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wires the store, the upstream mirrors and the Netty server together; start, drain and stop.
 * Metrics are served when {@code meters} is a Prometheus registry.
 */
public final class ProxyServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ProxyServer.class);

  private final ProxyConfig config;
  private final MeterRegistry meters;
  private final AtomicBoolean stopping = new AtomicBoolean();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final Connections connections = new Connections();
  // Null until start() builds them, and close() after a failed start closes what was built.
  private @Nullable EventLoopGroup workers;
  private @Nullable Channel server;
  private @Nullable Upstreams upstreams;
  private @Nullable AdminListener adminListener;
  private @Nullable ContentStore store;
  private @Nullable SharedStore sharedStore;
  private @Nullable ServerTls tls;
  private @Nullable Readiness readiness;
  private @Nullable Authenticator authenticator;
  private @Nullable Cluster cluster;

  private final String threadName;
  private @Nullable CompletableFuture<?> hold;
  private String holdReason = "";

  public ProxyServer(ProxyConfig config, MeterRegistry meters) {
    this(config, meters, "event-loop");
  }

  /**
   * @param threadName the event loops' thread name prefix (the start's warm-up runs a throwaway
   *     server whose threads it can tell apart)
   */
  public ProxyServer(ProxyConfig config, MeterRegistry meters, String threadName) {
    this.config = config;
    this.meters = meters;
    this.threadName = threadName;
  }

  /** Event loops for {@code cores} cores: one per core but one, at least one. */
  static int eventLoops(int cores) {
    return Math.max(1, cores - 1);
  }

  /** Binds the listener; returns the bound address (useful with port 0). */
  public InetSocketAddress start() throws InterruptedException {
    boolean epoll = Epoll.isAvailable();
    // One event loop per core but one (Netty's default is two per core): the writer threads, the
    // GC and the JIT need a core too, and a loop more than the cores can run only adds scheduling
    // delay. On two cores, one loop measured the same cold and warm throughput as two and a third
    // lower manifest p99 (benchmark/README.md). -Dio.netty.eventLoopThreads still overrides it.
    int threads =
        Integer.getInteger(
            "io.netty.eventLoopThreads", eventLoops(Runtime.getRuntime().availableProcessors()));
    DefaultThreadFactory named = new DefaultThreadFactory(threadName);
    workers =
        epoll ? new EpollEventLoopGroup(threads, named) : new NioEventLoopGroup(threads, named);
    Class<? extends ServerSocketChannel> serverType =
        epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    store =
        new ContentStore(config.cacheDir(), config.cacheMaxSize(), meters, config.directWrites())
            .open();
    if (config.verifyOnStart()) {
      store.verifyInBackground();
    }
    if (config.sharedStore() != null) {
      sharedStore =
          SharedStore.onS3(config.sharedStore(), store, meters, config.manifestMaxBytes());
    }
    Class<? extends Channel> clientType = epoll ? EpollSocketChannel.class : NioSocketChannel.class;
    if (config.cluster() != null) {
      cluster = Cluster.start(config.cluster(), workers, clientType, meters);
    }
    upstreams =
        Upstreams.wire(
            new Upstreams.Shared(
                workers,
                clientType,
                store,
                meters,
                config.limits().maxConcurrentFetches(),
                sharedStore,
                cluster == null ? Peers.NONE : cluster),
            config.upstreamSpecs(),
            config.airgap(),
            PinFileFormat::parse,
            config.signatures());
    Airgap airgap = upstreams.airgap();
    Map<String, Upstream> routes = new LinkedHashMap<>();
    for (ProxyConfig.Upstream u : config.upstreams()) {
      // Wired from these very upstreams: each has its registry.
      Registry registry = requireNonNull(upstreams.registries().get(u.name()), u.name());
      routes.put(u.name(), new Upstream(registry, u.options().isDockerHub()));
    }
    AdminHandler admin = prepareOperations(workers, store);
    // The listeners accept on the event loops themselves: no acceptor thread to hand each new
    // connection over from (measured: 10% less CPU and wall time per short-lived connection).
    ServerBootstrap b =
        new ServerBootstrap()
            .group(workers)
            .channel(serverType)
            .option(ChannelOption.SO_BACKLOG, 1024)
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childOption(
                ChannelOption.WRITE_BUFFER_WATER_MARK,
                new WriteBufferWaterMark(256 * 1024, 1024 * 1024))
            .childHandler(
                new ProxyChannelInitializer(
                    config.limits(),
                    routes,
                    routes.get(config.defaultUpstream()),
                    authenticator(),
                    new AccessPolicy(config.auth().enabled(), config.access()),
                    extras(admin, upstreams)));
    server = bind(b, config.listen(), "listen");
    InetSocketAddress bound = (InetSocketAddress) server.localAddress();
    log.info(
        "registry proxy listening on {} ({}, {} transport), cache {}{}, upstreams {}",
        bound,
        tls == null ? "http" : "https",
        epoll ? "epoll" : "nio",
        store.root(),
        sharedStore == null ? "" : ", shared store " + config.sharedStore(),
        routes.keySet());
    if (config.operations().adminListen() != null) {
      WarmJobs warms = airgap.warmJobs(); // the configured warm list reports here too
      adminListener =
          AdminListener.start(
              config,
              workers,
              serverType,
              admin,
              airgap,
              routes.keySet(),
              statusSources(upstreams, store, warms));
    }
    return bound;
  }

  /**
   * What the status page reads: every upstream's health and refusals, the store, meters, pins and
   * warms.
   */
  private StatusSources statusSources(Upstreams upstreams, ContentStore store, WarmJobs warms) {
    return new StatusSources(
        upstreams.pullThroughs().stream().map(StatusSources.Upstream::of).toList(),
        store,
        config.cacheMaxSize(),
        meters,
        upstreams.airgap(),
        warms);
  }

  /** Warm, pins and drift of the running server (for the admin endpoints); null before start. */
  public @Nullable Airgap airgap() {
    Upstreams u = upstreams;
    return u == null ? null : u.airgap();
  }

  /** Builds what the operational handlers need: TLS, readiness, metrics, the admin routes. */
  private ProxyChannelInitializer.Extras extras(AdminHandler adminRoutes, Upstreams upstreams) {
    return new ProxyChannelInitializer.Extras(
        tls,
        config.operations().adminListen() == null ? adminRoutes : null,
        connections,
        new RequestMetrics(meters),
        cluster == null ? null : new PeerPath(cluster, upstreams::pullThrough, this::warming));
  }

  private AdminHandler prepareOperations(EventLoopGroup workers, ContentStore store) {
    ProxyConfig.Tls files = config.operations().tls();
    if (files != null) {
      ServerTls tls;
      try {
        tls = ServerTls.load(files.cert(), files.key());
      } catch (PemKeyPair.InvalidPemException e) {
        throw new IllegalStateException(
            (e.which() == PemKeyPair.Which.CERT ? "tls.cert: " : "tls.key: ") + e.getMessage(), e);
      }
      this.tls = tls;
      tls.startReloading(workers, files.reloadInterval()); // a stat of two files per interval
    }
    io.micrometer.core.instrument.Gauge.builder(
            "registry_proxy_client_connections", connections, Connections::size)
        .description("Open client connections on the main listener")
        .register(meters);
    SharedStore shared = sharedStore;
    Readiness readiness =
        new Readiness(
            store.root(),
            config.upstreams().size(),
            stopping::get,
            shared == null ? null : shared::check);
    this.readiness = readiness;
    if (hold != null) {
      readiness.holdUntil(hold, holdReason);
    }
    Supplier<String> scrape = meters instanceof PrometheusMeterRegistry p ? p::scrape : null;
    return new AdminHandler(scrape, readiness, true);
  }

  /**
   * Reports unready with {@code reason} until {@code until} completes; before {@link #start}, so
   * that not even the first probe after the bind sees it ready.
   */
  public void holdReadiness(CompletableFuture<?> until, String reason) {
    this.hold = until;
    this.holdReason = reason;
  }

  private boolean warming() {
    CompletableFuture<?> h = hold;
    return h != null && !h.isDone();
  }

  static Channel bind(ServerBootstrap b, InetSocketAddress address, String key)
      throws InterruptedException {
    try {
      return b.bind(address).sync().channel();
    } catch (InterruptedException e) {
      throw e;
    } catch (Exception e) {
      // Netty rethrows the checked BindException undeclared; name the key that chose the address.
      throw new IllegalStateException(
          key + ": cannot listen on " + address + ": " + e.getMessage(), e);
    }
  }

  /**
   * Graceful stop: closes the listener so no new connection is accepted, reports unready, lets
   * responses in progress finish for up to {@code grace}, then closes whatever is left. Unfinished
   * downloads stay in {@code tmp/}, never under {@code blobs/}; the next start removes them.
   * Idempotent; a second call returns at once.
   */
  public void shutdown(Duration grace) {
    if (!stopping.compareAndSet(false, true)) {
      return;
    }
    if (server != null) {
      server.close().syncUninterruptibly();
    }
    int open = connections.size();
    if (open > 0 && grace.toMillis() > 0) {
      log.info(
          "shutting down: waiting up to {} ms for {} connection(s) to finish their responses",
          grace.toMillis(),
          open);
      try {
        connections.drain().get(grace.toMillis(), TimeUnit.MILLISECONDS);
        log.info("shutting down: all responses finished");
      } catch (TimeoutException e) {
        log.warn(
            "shutting down: {} connection(s) still busy after {} ms; closing them",
            connections.size(),
            grace.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (ExecutionException e) {
        log.warn("shutting down: {}", String.valueOf(e.getCause()));
      }
    }
    close();
  }

  private @Nullable Authenticator authenticator() {
    ProxyConfig.Auth a = config.auth();
    if (!a.enabled()) {
      return null;
    }
    Authenticator authenticator =
        new Authenticator(
            CredentialStore.load(a.htpasswd(), a.tokens(), a.groups()), a.realm(), meters);
    this.authenticator = authenticator;
    return authenticator;
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    stopping.set(true);
    if (upstreams != null) {
      upstreams.close(); // the air-gap's thread, then idle upstream connections
    }
    if (cluster != null) {
      cluster.close();
    }
    if (authenticator != null) {
      authenticator.close();
    }
    if (server != null) {
      server.close().syncUninterruptibly();
    }
    if (adminListener != null) {
      adminListener.close();
    }
    connections.closeAll();
    if (tls != null) {
      tls.close();
    }
    if (readiness != null) {
      readiness.close();
    }
    if (workers != null) {
      workers.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
    }
    if (sharedStore != null) {
      sharedStore.close(); // lets queued uploads finish (bounded)
    }
    if (store != null) {
      store.close();
    }
  }
}
