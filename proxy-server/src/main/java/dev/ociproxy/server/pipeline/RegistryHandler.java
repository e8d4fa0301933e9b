package dev.ociproxy.server.pipeline;

import dev.ociproxy.core.concurrent.Futures;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.registry.BlobSource;
import dev.ociproxy.core.registry.Manifest;
import dev.ociproxy.server.auth.AccessPolicy;
import dev.ociproxy.server.auth.Authenticator;
import dev.ociproxy.server.auth.Principal;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.ReferenceCountUtil;
import java.nio.channels.ClosedChannelException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Last handler of the client pipeline (after the HTTP codec and keep-alive handler): routes each
 * request and writes its response. Handles one request at a time: reading stops while a response
 * is in progress, so a pipelined request waits its turn.
 */
final class RegistryHandler extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(RegistryHandler.class);
  private static final String API_VERSION = "Docker-Distribution-API-Version";

  private final V2Router router;
  private final AccessLog accessLog;
  private final Authenticator authenticator;
  private final AccessPolicy policy;
  private final int maxHeaders;
  private TailingBlobWriter tail;
  private AccessLog.Entry current;

  /** @param authenticator null when client authentication is off */
  RegistryHandler(V2Router router, AccessLog accessLog, Authenticator authenticator, AccessPolicy policy,
      int maxHeaders) {
    this.router = router;
    this.accessLog = accessLog;
    this.authenticator = authenticator;
    this.policy = policy;
    this.maxHeaders = maxHeaders;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof HttpRequest req)) {
      ReferenceCountUtil.release(msg); // request bodies are never used
      return;
    }
    try {
      if (req.decoderResult().isFailure()) {
        rejectMalformed(ctx, req);
        return;
      }
      ctx.channel().config().setAutoRead(false);
      current = accessLog.begin(req, ctx.channel().remoteAddress());
      handle(ctx, req);
    } finally {
      ReferenceCountUtil.release(msg);
    }
  }

  private void rejectMalformed(ChannelHandlerContext ctx, HttpRequest req) {
    Throwable cause = req.decoderResult().cause();
    int status = cause instanceof TooLongHttpLineException ? 414
        : cause instanceof TooLongHttpHeaderException ? 431
        : cause instanceof TooLongFrameException ? 413 : 400;
    FullHttpResponse r = ErrorResponses.of(ctx.alloc(), status, OciErrorCode.UNSUPPORTED, "malformed request", false);
    r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    // Framing is no longer trustworthy: answer and close.
    ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
  }

  private void handle(ChannelHandlerContext ctx, HttpRequest req) {
    boolean head = req.method().name().equals("HEAD");
    if (req.headers().size() > maxHeaders) {
      FullHttpResponse r = ErrorResponses.of(ctx.alloc(), 431, OciErrorCode.UNSUPPORTED,
          "too many headers (limits.maxHeaders=" + maxHeaders + ")", head);
      r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      send(ctx, r);
      return;
    }
    V2Request route;
    try {
      route = router.route(req.method(), req.uri());
    } catch (RegistryException e) {
      sendError(ctx, e, head);
      return;
    }
    if (route instanceof V2Request.Scoped s) {
      current.upstream(s.registry().name());
    }
    current.route(routeName(route));
    if (authenticator == null) {
      authorizeAndDispatch(ctx, req, route, null, head);
      return;
    }
    authenticator.authenticate(req.headers().get(HttpHeaderNames.AUTHORIZATION), ctx.channel().remoteAddress())
        .whenCompleteAsync((principal, err) -> {
          if (!ctx.channel().isActive()) {
            return;
          }
          if (err != null) {
            sendError(ctx, Futures.cause(err), head);
            return;
          }
          current.user(principal == null ? "-" : principal.user());
          authorizeAndDispatch(ctx, req, route, principal, head);
        }, ctx.executor());
  }

  /** Checks the access rules before anything is read from the cache or fetched upstream. */
  private void authorizeAndDispatch(ChannelHandlerContext ctx, HttpRequest req, V2Request route,
      Principal principal, boolean head) {
    try {
      if (route instanceof V2Request.Scoped s) {
        policy.check(principal, s.registry().name(), s.repository().value());
      } else if (policy.authEnabled() && principal == null) {
        // /v2/ answers 401 so clients discover that (and how) to authenticate.
        throw new RegistryException(OciErrorCode.UNAUTHORIZED, 401, "authentication required");
      }
    } catch (RegistryException e) {
      sendError(ctx, e, head);
      return;
    }
    dispatch(ctx, req, route, head);
  }

  private void dispatch(ChannelHandlerContext ctx, HttpRequest req, V2Request route, boolean head) {
    if (route instanceof V2Request.ApiVersionCheck) {
      FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
          head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(new byte[] {'{', '}'}));
      r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
      r.headers().set(HttpHeaderNames.CONTENT_LENGTH, 2);
      r.headers().set(API_VERSION, "registry/2.0");
      send(ctx, r);
    } else if (route instanceof V2Request.GetManifest m) {
      on(ctx, m.registry().manifest(m.repository(), m.reference(), accept(req)), head,
          manifest -> sendManifest(ctx, manifest, m.head()));
    } else if (route instanceof V2Request.GetBlob b && b.head()) {
      on(ctx, b.registry().blobSize(b.repository(), b.digest()), true,
          size -> sendBlobHead(ctx, b.digest(), size));
    } else if (route instanceof V2Request.GetBlob b) {
      on(ctx, b.registry().blob(b.repository(), b.digest()), false,
          source -> sendBlob(ctx, req, b.digest(), source));
    } else if (route instanceof V2Request.ListTags t) {
      on(ctx, t.registry().tagList(t.repository(), t.query()), head,
          list -> send(ctx, TagListResponses.of(ctx.alloc(), list, t, head)));
    }
  }

  /** A low-cardinality name for the metrics' route tag. */
  private static String routeName(V2Request route) {
    if (route instanceof V2Request.ApiVersionCheck) {
      return "base";
    } else if (route instanceof V2Request.GetManifest) {
      return "manifest";
    } else if (route instanceof V2Request.GetBlob) {
      return "blob";
    } else if (route instanceof V2Request.ListTags) {
      return "tags";
    }
    return "other";
  }

  /** Parsed Accept headers: clients send the same few values on every request. */
  private static final java.util.concurrent.ConcurrentMap<String, List<String>> PARSED_ACCEPT =
      new java.util.concurrent.ConcurrentHashMap<>();
  private static final int MAX_PARSED_ACCEPT = 256;

  private static List<String> accept(HttpRequest req) {
    List<String> all = req.headers().getAll(HttpHeaderNames.ACCEPT);
    if (all.size() != 1 || all.get(0).length() > 1024) {
      return parseAccept(all);
    }
    String h = all.get(0);
    List<String> known = PARSED_ACCEPT.get(h);
    if (known == null) {
      known = List.copyOf(parseAccept(all));
      if (PARSED_ACCEPT.size() < MAX_PARSED_ACCEPT) { // bounded: a client cannot grow it at will
        PARSED_ACCEPT.putIfAbsent(h, known);
      }
    }
    return known;
  }

  private static List<String> parseAccept(List<String> headers) {
    List<String> out = new ArrayList<>();
    for (String h : headers) {
      for (String part : h.split(",")) {
        int semi = part.indexOf(';');
        String t = (semi < 0 ? part : part.substring(0, semi)).trim();
        if (!t.isEmpty() && out.size() < 32) {
          out.add(t);
        }
      }
    }
    return out;
  }

  /** Runs {@code then} on this channel's event loop when {@code f} succeeds; errors become JSON. */
  private <T> void on(ChannelHandlerContext ctx, CompletableFuture<T> f, boolean head, java.util.function.Consumer<T> then) {
    f.whenCompleteAsync((value, err) -> {
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
      } catch (RegistryException | ByteRange.Unsatisfiable e) {
        sendError(ctx, e, head);
      } catch (RuntimeException e) {
        log.error("failed to answer {}", current, e);
        sendError(ctx, e, head);
      }
    }, ctx.executor());
  }

  private void sendManifest(ChannelHandlerContext ctx, Manifest m, boolean head) {
    FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
        head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(m.body()));
    r.headers().set(HttpHeaderNames.CONTENT_TYPE, m.mediaType());
    r.headers().set(HttpHeaderNames.CONTENT_LENGTH, m.body().length);
    r.headers().set("Docker-Content-Digest", m.digest().toString());
    r.headers().set(HttpHeaderNames.ETAG, "\"" + m.digest() + "\"");
    r.headers().set(API_VERSION, "registry/2.0");
    if (m.stale()) {
      r.headers().set(HttpHeaderNames.WARNING, "110 - \"Response is Stale\"");
      r.headers().set("X-Registry-Proxy-Stale", "true");
    }
    current.cache(m.fromCache() ? (m.stale() ? "stale" : "hit") : "miss");
    send(ctx, r);
  }

  private void sendBlobHead(ChannelHandlerContext ctx, Digest digest, long size) {
    FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, Unpooled.EMPTY_BUFFER);
    BlobResponses.blobHeaders(r.headers(), digest);
    if (size >= 0) {
      r.headers().set(HttpHeaderNames.CONTENT_LENGTH, size);
    }
    send(ctx, r);
  }

  private void sendBlob(ChannelHandlerContext ctx, HttpRequest req, Digest digest, BlobSource source) {
    String range = req.headers().get(HttpHeaderNames.RANGE);
    if (source instanceof BlobSource.Cached c) {
      current.cache("hit");
      sendCached(ctx, digest, c, range);
      return;
    }
    BlobSource.Downloading d = (BlobSource.Downloading) source;
    current.cache("miss");
    if (range != null) {
      // Ranges are served from verified content only: wait for the download to be published.
      on(ctx, d.download().finished(), false, path -> {
        BlobSource.Cached c = d.published();
        if (c == null) {
          throw new RegistryException(OciErrorCode.BLOB_UNKNOWN, 404, "blob evicted, retry");
        }
        sendCached(ctx, digest, c, range);
      });
      return;
    }
    if (d.download().failed()) {
      // Refused before we said anything: a clean error beats a broken transfer.
      sendError(ctx, failureOf(d.download()), false);
      return;
    }
    try {
      tail = new TailingBlobWriter(ctx.channel(), d.download(),
          BlobResponses.streamingHead(digest, d.download().expectedLength()));
    } catch (java.io.IOException e) {
      if (d.download().failed()) {
        sendError(ctx, failureOf(d.download()), false);
      } else {
        log.warn("cannot read download of {}: {}", digest, e.toString());
        ctx.close();
      }
      return;
    }
    current.status(200);
    TailingBlobWriter writer = tail;
    AccessLog.Entry entry = current;
    entry.ending(); // from here the writer reports the outcome, whoever closes the channel
    writer.start().whenComplete((outcome, err) -> {
      tail = null;
      entry.bytes(writer.sent());
      switch (outcome) {
        case COMPLETE -> responseDone(ctx);
        case REFUSED_BEFORE_START -> sendError(ctx, failureOf(d.download()), false);
        default -> {
          entry.aborted();
          accessLog.end(entry);
        }
      }
    });
  }

  private void sendCached(ChannelHandlerContext ctx, Digest digest, BlobSource.Cached c, String range) {
    BlobResponses.Sent sent;
    try {
      sent = BlobResponses.sendFile(ctx, digest, c.path(), c.size(), range);
    } catch (RuntimeException e) {
      c.lease().close();
      throw e;
    }
    sent.last().addListener(f -> c.lease().close());
    sent(ctx, sent);
  }

  private void sent(ChannelHandlerContext ctx, BlobResponses.Sent sent) {
    current.status(sent.status()).bytes(sent.bytes());
    done(ctx, sent.last());
  }

  private void done(ChannelHandlerContext ctx, ChannelFuture last) {
    AccessLog.Entry entry = current;
    entry.ending();
    last.addListener((ChannelFutureListener) f -> {
      if (f.isSuccess()) {
        responseDone(ctx);
      } else {
        entry.aborted();
        accessLog.end(entry);
        ctx.close();
      }
    });
  }

  private void send(ChannelHandlerContext ctx, FullHttpResponse r) {
    current.status(r.status().code()).bytes(r.content().readableBytes());
    done(ctx, ctx.writeAndFlush(r));
  }

  private void sendError(ChannelHandlerContext ctx, Throwable err, boolean head) {
    FullHttpResponse r;
    if (err instanceof RegistryException e) {
      r = ErrorResponses.of(ctx.alloc(), e.status(), e.code(), e.getMessage(), head);
      if (e.status() == 401 && authenticator != null) {
        r.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, authenticator.challenge());
      }
    } else if (err instanceof ByteRange.Unsatisfiable) {
      r = ErrorResponses.of(ctx.alloc(), 416, OciErrorCode.RANGE_INVALID, "range not satisfiable", head);
    } else {
      log.error("internal error answering {}", current, err);
      r = ErrorResponses.of(ctx.alloc(), 500, OciErrorCode.UNAVAILABLE, "internal error", head);
    }
    send(ctx, r);
  }

  private void responseDone(ChannelHandlerContext ctx) {
    accessLog.end(current);
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
  public void channelInactive(ChannelHandlerContext ctx) {
    // A close while the last write is in flight is the keep-alive handler's (Connection: close);
    // that write's listener logs the outcome.
    if (current != null && !current.ended() && !current.isEnding()) {
      current.aborted();
      accessLog.end(current);
    }
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (!(cause instanceof ClosedChannelException) && !(cause instanceof java.io.IOException)) {
      log.warn("closing client connection {}: {}", ctx.channel().remoteAddress(), cause.toString());
    }
    ctx.close();
  }

  private static Throwable failureOf(dev.ociproxy.core.cache.BlobDownload d) {
    return Futures.cause(d.finished().handle((path, err) -> err).join());
  }
}
