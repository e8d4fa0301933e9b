package dev.ociproxy.server.admin;

import static java.util.Objects.requireNonNull;

import dev.ociproxy.server.admin.page.StatusPageHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.handler.flow.FlowControlHandler;
import io.netty.handler.timeout.IdleStateHandler;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * Builds the pipeline of the optional admin listener ({@code admin.listen}): plain HTTP with {@code
 * /metrics}, {@code /healthz} and {@code /readyz}, and — when given {@link AdminActions} — {@code
 * POST /admin/warm} and {@code GET /admin/drift}, and — when given a {@link StatusPageHandler} —
 * the operator's status page at {@code /}. Kept apart from {@link ProxyChannelInitializer} so the
 * registry pipeline stays exactly as it is and the admin actions can never reach it.
 */
public final class AdminChannelInitializer extends ChannelInitializer<SocketChannel> {
  private final AdminHandler admin;
  private final @Nullable AdminActions actions;
  private final @Nullable StatusPageHandler page;

  public AdminChannelInitializer(AdminHandler routes) {
    this(routes, null, null);
  }

  /**
   * @param actions the admin actions, or null for the read-only endpoints only
   * @param page the status page, or null for none
   */
  public AdminChannelInitializer(
      AdminHandler routes, @Nullable AdminActions actions, @Nullable StatusPageHandler page) {
    this.admin = requireNonNull(routes, "routes").standalone();
    this.actions = actions;
    this.page = page;
  }

  @Override
  protected void initChannel(SocketChannel ch) {
    addHandlers(ch.pipeline());
  }

  /** Adds the admin handlers to {@code p}; separate from {@link #initChannel} for tests. */
  void addHandlers(ChannelPipeline p) {
    p.addLast(
        "idle",
        new IdleStateHandler(0, 0, 120, TimeUnit.SECONDS) {
          @Override
          protected void channelIdle(
              io.netty.channel.ChannelHandlerContext ctx,
              io.netty.handler.timeout.IdleStateEvent evt) {
            if (!AdminActions.busy(ctx.channel())) { // a long warm is silent until it answers
              ctx.close();
            }
          }
        });
    p.addLast("codec", new HttpServerCodec(4096, 8192, 8192));
    p.addLast("keepAlive", new HttpServerKeepAliveHandler());
    if (actions != null) {
      p.addLast("aggregator", new HttpObjectAggregator(AdminActions.MAX_BODY_BYTES));
      // A warm turns autoRead off while it runs; requests already decoded wait here meanwhile.
      p.addLast("flowControl", new FlowControlHandler());
      p.addLast("actions", actions);
    }
    if (page != null) {
      p.addLast("statusPage", page);
    }
    p.addLast("admin", admin);
  }
}
