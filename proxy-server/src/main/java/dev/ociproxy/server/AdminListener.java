package dev.ociproxy.server;

import static java.util.Objects.requireNonNull;

import dev.ociproxy.core.airgap.Airgap;
import dev.ociproxy.server.admin.AdminActions;
import dev.ociproxy.server.admin.AdminChannelInitializer;
import dev.ociproxy.server.admin.AdminHandler;
import dev.ociproxy.server.admin.page.StatusPage;
import dev.ociproxy.server.admin.page.StatusPageHandler;
import dev.ociproxy.server.admin.page.StatusSources;
import dev.ociproxy.server.config.ProxyConfig;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.ServerSocketChannel;
import java.net.InetSocketAddress;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin listener ({@code admin.listen}): the status page, metrics, health and the operator
 * actions, on their own port so the main listener never serves them. Split out of {@link
 * ProxyServer}, which starts and closes it.
 */
final class AdminListener implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(AdminListener.class);

  private final Channel channel;
  private final StatusPage statusPage;

  private AdminListener(Channel channel, StatusPage statusPage) {
    this.channel = channel;
    this.statusPage = statusPage;
  }

  /** Binds {@code admin.listen}; warns when it is reachable from other hosts without a token. */
  static AdminListener start(
      ProxyConfig config,
      EventLoopGroup workers,
      Class<? extends ServerSocketChannel> serverType,
      AdminHandler admin,
      Airgap airgap,
      Set<String> upstreamNames,
      StatusSources sources)
      throws InterruptedException {
    ProxyConfig.Operations ops = config.operations();
    InetSocketAddress listen = requireNonNull(ops.adminListen(), "admin.listen"); // why we start
    StatusPage statusPage = new StatusPage(sources);
    ServerBootstrap ab =
        new ServerBootstrap()
            .group(workers)
            .channel(serverType)
            .childOption(ChannelOption.TCP_NODELAY, true)
            .childHandler(
                new AdminChannelInitializer(
                    admin,
                    new AdminActions(
                        airgap.warmer(),
                        airgap.drift(),
                        upstreamNames,
                        config.defaultUpstream(),
                        ops.adminToken(),
                        sources.warms()),
                    new StatusPageHandler(statusPage, ops.adminToken())));
    Channel channel;
    try {
      channel = ProxyServer.bind(ab, listen, "admin.listen");
    } catch (InterruptedException | RuntimeException e) {
      statusPage.close();
      throw e;
    }
    log.info(
        "status page, metrics, health and admin actions on http://{} (/, /metrics, /healthz, /readyz,"
            + " POST /admin/warm, GET /admin/drift{})",
        channel.localAddress(),
        ops.adminToken() == null ? "" : ": bearer token required");
    java.net.InetAddress adminHost = listen.getAddress();
    if (ops.adminToken() == null && (adminHost == null || !adminHost.isLoopbackAddress())) {
      log.warn(
          "admin.listen {} is reachable from other hosts and admin.token is not set: whoever reaches it can"
              + " make the proxy fetch from its upstreams (POST /admin/warm); set admin.token or admin.tokenFile",
          listen);
    }
    return new AdminListener(channel, statusPage);
  }

  @Override
  public void close() {
    channel.close().syncUninterruptibly();
    statusPage.close();
  }
}
