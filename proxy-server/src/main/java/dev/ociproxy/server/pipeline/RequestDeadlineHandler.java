package dev.ociproxy.server.pipeline;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * Sits after the HTTP codec: a connection must deliver a complete request head within {@code
 * limits.idleTimeout} of opening or of its previous response ending, or it is closed. Unlike a
 * plain read-idle timer, a client trickling one header byte at a time (slowloris) cannot keep it
 * open. While a response is being written the deadline is off.
 */
final class RequestDeadlineHandler extends ChannelDuplexHandler {
  private final long timeoutMillis;
  private @Nullable ScheduledFuture<?> deadline;

  RequestDeadlineHandler(long timeoutMillis) {
    this.timeoutMillis = timeoutMillis;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    arm(ctx);
    ctx.fireChannelActive();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof HttpRequest) {
      disarm();
    }
    ctx.fireChannelRead(msg);
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (msg instanceof LastHttpContent) {
      ctx.write(msg, promise.unvoid())
          .addListener(
              (ChannelFutureListener)
                  f -> {
                    if (f.isSuccess()) {
                      arm(ctx);
                    }
                  });
      return;
    }
    ctx.write(msg, promise);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    disarm();
    ctx.fireChannelInactive();
  }

  private void arm(ChannelHandlerContext ctx) {
    disarm();
    deadline =
        ctx.executor()
            .schedule(
                () -> {
                  ctx.close();
                },
                timeoutMillis,
                TimeUnit.MILLISECONDS);
  }

  private void disarm() {
    ScheduledFuture<?> d = deadline;
    if (d != null) {
      d.cancel(false);
      deadline = null;
    }
  }
}
