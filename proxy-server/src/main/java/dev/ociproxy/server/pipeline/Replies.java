package dev.ociproxy.server.pipeline;

import dev.ociproxy.core.concurrent.Futures;
import dev.ociproxy.core.registry.BlobSource;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.FullHttpResponse;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How one client connection's answers go out: a registry future's value is rendered on the
 * channel's event loop, a failure becomes the spec's JSON error (with the auth challenge when it is
 * a 401), and the next request is read only once the last byte of this answer is written. One per
 * channel, used by {@link RegistryHandler} and {@link BlobReplies}; event loop only.
 */
final class Replies {
  private static final Logger log = LoggerFactory.getLogger(Replies.class);

  private final ChannelHandlerContext ctx;
  private final ClientAccess access;
  private AccessLog.Entry entry;

  Replies(ChannelHandlerContext ctx, ClientAccess access, AccessLog.Entry entry) {
    this.ctx = ctx;
    this.access = access;
    this.entry = entry;
  }

  /** Starts answering the next request, whose access-log entry is {@code e}. */
  void begin(AccessLog.Entry e) {
    this.entry = e;
  }

  /** The access-log entry of the request being answered. */
  AccessLog.Entry entry() {
    return entry;
  }

  ChannelHandlerContext ctx() {
    return ctx;
  }

  /** Runs {@code then} on this channel's event loop when {@code f} succeeds; errors become JSON. */
  <T> void whenComplete(CompletableFuture<T> f, boolean head, Consumer<T> then) {
    f.whenCompleteAsync(
        (value, err) -> {
          if (!ctx.channel().isActive()) {
            if (value instanceof BlobSource.Cached c) {
              c.lease().close(); // nobody will send it: let the store evict it
            }
            return;
          }
          if (err != null) {
            sendError(Futures.cause(err), head);
            return;
          }
          try {
            then.accept(value);
          } catch (RuntimeException e) {
            sendError(e, head);
          }
        },
        ctx.executor());
  }

  void send(FullHttpResponse r) {
    whenSent(ctx.writeAndFlush(r));
  }

  void sendError(Throwable err, boolean head) {
    FullHttpResponse r = ErrorResponses.of(ctx.alloc(), err, head);
    if (r.status().code() == 500) {
      log.error("internal error answering {}", entry, err);
    }
    access.challenge(r);
    send(r);
  }

  /**
   * Once the response's last part is written the next request may be read; a failed write closes.
   */
  void whenSent(ChannelFuture last) {
    last.addListener(
        (ChannelFutureListener)
            f -> {
              if (f.isSuccess()) {
                readNextRequest();
              } else {
                ctx.close();
              }
            });
  }

  void readNextRequest() {
    // Turning autoRead back on issues the one read() that releases the next request from the
    // FlowControlHandler; an extra ctx.read() here would release a second one while the first
    // is still being answered.
    ctx.channel().config().setAutoRead(true);
  }
}
