package dev.ociproxy.server.pipeline;

import dev.ociproxy.core.cache.BlobDownload;
import dev.ociproxy.core.concurrent.Futures;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.registry.BlobSource;
import dev.ociproxy.server.auth.Principal;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Last handler of the client pipeline: routes each well-formed request (the {@link
 * MalformedRequestRejector} has answered the others), authenticates and authorizes it, and
 * dispatches it to the upstream's registry; the response classes render the answer. Handles one
 * request at a time: reading stops while a response is in progress, so a pipelined request waits
 * its turn. Adds the route, upstream, user and cache outcome to the request's access-log entry.
 */
final class RegistryHandler extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(RegistryHandler.class);

  private final V2Router router;
  private final ClientAccess access;
  private TailingBlobWriter tail;
  private AccessLog.Entry entry;

  RegistryHandler(V2Router router, ClientAccess access) {
    this.router = router;
    this.access = access;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof HttpRequest req)) {
      ReferenceCountUtil.release(msg); // request bodies are never used
      return;
    }
    try {
      ctx.channel().config().setAutoRead(false);
      entry = AccessLog.current(ctx.channel());
      handle(ctx, req);
    } finally {
      ReferenceCountUtil.release(msg);
    }
  }

  private void handle(ChannelHandlerContext ctx, HttpRequest req) {
    boolean head = req.method().name().equals("HEAD");
    V2Request route;
    try {
      route = router.route(req.method(), req.uri());
    } catch (RegistryException e) {
      sendError(ctx, e, head);
      return;
    }
    if (route instanceof V2Request.Scoped s) {
      entry.upstream(s.registry().name());
    }
    entry.route(V2Request.routeName(route));
    CompletableFuture<Principal> allowed = access.check(req, route, ctx.channel().remoteAddress());
    if (allowed.isDone() && !allowed.isCompletedExceptionally()) {
      dispatch(ctx, req, route, allowed.join(), head); // no hop through the event loop's queue
    } else {
      whenComplete(ctx, allowed, head, principal -> dispatch(ctx, req, route, principal, head));
    }
  }

  private void dispatch(
      ChannelHandlerContext ctx,
      HttpRequest req,
      V2Request route,
      Principal principal,
      boolean head) {
    if (principal != null) {
      entry.user(principal.user());
    }
    if (route instanceof V2Request.ApiVersionCheck) {
      send(ctx, ApiVersionResponses.of(head));
    } else if (route instanceof V2Request.GetManifest m && m.head()) {
      whenComplete(
          ctx,
          m.registry().manifestHead(m.repository(), m.reference(), AcceptHeader.mediaTypes(req)),
          true,
          h -> {
            entry.cache(ManifestResponses.cacheOutcome(h));
            send(ctx, ManifestResponses.head(h));
          });
    } else if (route instanceof V2Request.GetManifest m) {
      whenComplete(
          ctx,
          m.registry().manifest(m.repository(), m.reference(), AcceptHeader.mediaTypes(req)),
          head,
          manifest -> {
            entry.cache(ManifestResponses.cacheOutcome(manifest));
            send(ctx, ManifestResponses.of(manifest, m.head()));
          });
    } else if (route instanceof V2Request.GetBlob b && b.head()) {
      CompletableFuture<Long> size = b.registry().blobSize(b.repository(), b.digest());
      // Only an upstream round trip leaves it pending: one already answered came from the cache.
      String cache = size.isDone() ? "hit" : "miss";
      whenComplete(
          ctx,
          size,
          true,
          known -> {
            entry.cache(cache);
            send(ctx, BlobResponses.head(b.digest(), known));
          });
    } else if (route instanceof V2Request.GetBlob b) {
      whenComplete(
          ctx,
          b.registry().blob(b.repository(), b.digest()),
          false,
          source -> sendBlob(ctx, req, b.digest(), source));
    } else if (route instanceof V2Request.GetReferrers r) {
      whenComplete(
          ctx,
          r.registry().referrers(r.repository(), r.subject()),
          head,
          referrers -> {
            if (referrers.stale()) {
              entry.cache("stale");
            }
            send(ctx, ReferrersResponses.of(referrers, r.artifactType(), head));
          });
    } else if (route instanceof V2Request.ListTags t) {
      whenComplete(
          ctx,
          t.registry().tagList(t.repository(), t.query()),
          head,
          list -> send(ctx, TagListResponses.of(ctx.alloc(), list, t, head)));
    }
  }

  /** Runs {@code then} on this channel's event loop when {@code f} succeeds; errors become JSON. */
  private <T> void whenComplete(
      ChannelHandlerContext ctx, CompletableFuture<T> f, boolean head, Consumer<T> then) {
    f.whenCompleteAsync(
        (value, err) -> {
          if (!ctx.channel().isActive()) {
            if (value instanceof BlobSource.Cached c) {
              c.lease().close();
            }
            return;
          }
          if (err != null) {
            sendError(ctx, Futures.cause(err), head);
            return;
          }
          try {
            then.accept(value);
          } catch (RuntimeException e) {
            sendError(ctx, e, head);
          }
        },
        ctx.executor());
  }

  private void sendBlob(
      ChannelHandlerContext ctx, HttpRequest req, Digest digest, BlobSource source) {
    String range = req.headers().get(HttpHeaderNames.RANGE);
    if (source instanceof BlobSource.Cached c) {
      entry.cache("hit");
      sendCached(ctx, digest, c, range);
      return;
    }
    BlobSource.Downloading d = (BlobSource.Downloading) source;
    BlobDownload download = d.download();
    entry.cache("miss");
    if (range != null) {
      // Ranges are served from verified content only: wait for the download to be published.
      whenComplete(
          ctx,
          download.finished(),
          false,
          path -> {
            BlobSource.Cached c = d.published();
            if (c == null) {
              throw new RegistryException(OciErrorCode.BLOB_UNKNOWN, 404, "blob evicted, retry");
            }
            sendCached(ctx, digest, c, range);
          });
      return;
    }
    if (download.failed()) {
      // Refused before we said anything: a clean error beats a broken transfer.
      sendError(ctx, failureOf(download), false);
      return;
    }
    try {
      tail =
          new TailingBlobWriter(
              ctx.channel(),
              download,
              BlobResponses.streamingHead(digest, download.expectedLength()));
    } catch (IOException e) {
      if (download.failed()) {
        sendError(ctx, failureOf(download), false);
      } else {
        log.warn("cannot read download of {}: {}", digest, e.toString());
        ctx.close();
      }
      return;
    }
    // The access log sees what the writer sends and how it ends; a cut transfer closes the channel.
    tail.start()
        .whenComplete(
            (outcome, err) -> {
              tail = null;
              if (outcome == TailingBlobWriter.Outcome.COMPLETE) {
                readNextRequest(ctx);
              } else if (outcome == TailingBlobWriter.Outcome.REFUSED_BEFORE_START) {
                sendError(ctx, failureOf(download), false);
              }
            });
  }

  private void sendCached(
      ChannelHandlerContext ctx, Digest digest, BlobSource.Cached c, String range) {
    ChannelFuture last;
    try {
      last = BlobResponses.sendFile(ctx, digest, c.path(), c.size(), range);
    } catch (RuntimeException e) {
      c.lease().close();
      throw e;
    }
    last.addListener(f -> c.lease().close());
    whenSent(ctx, last);
  }

  private void send(ChannelHandlerContext ctx, FullHttpResponse r) {
    whenSent(ctx, ctx.writeAndFlush(r));
  }

  private void sendError(ChannelHandlerContext ctx, Throwable err, boolean head) {
    FullHttpResponse r = ErrorResponses.of(ctx.alloc(), err, head);
    if (r.status().code() == 500) {
      log.error("internal error answering {}", entry, err);
    }
    access.challenge(r);
    send(ctx, r);
  }

  /**
   * Once the response's last part is written the next request may be read; a failed write closes.
   */
  private static void whenSent(ChannelHandlerContext ctx, ChannelFuture last) {
    last.addListener(
        (ChannelFutureListener)
            f -> {
              if (f.isSuccess()) {
                readNextRequest(ctx);
              } else {
                ctx.close();
              }
            });
  }

  private static void readNextRequest(ChannelHandlerContext ctx) {
    // Turning autoRead back on issues the one read() that releases the next request from the
    // FlowControlHandler; an extra ctx.read() here would release a second one while the first
    // is still being answered.
    ctx.channel().config().setAutoRead(true);
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (tail != null && ctx.channel().isWritable()) {
      tail.pump();
    }
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (!(cause instanceof ClosedChannelException) && !(cause instanceof IOException)) {
      log.warn("closing client connection {}: {}", ctx.channel().remoteAddress(), cause.toString());
    }
    ctx.close();
  }

  private static Throwable failureOf(BlobDownload d) {
    return Futures.cause(d.finished().handle((path, err) -> err).join());
  }
}
