package dev.ociproxy.server.admin;

import static java.util.Objects.requireNonNull;

import dev.ociproxy.server.health.Readiness;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers {@code GET /metrics} (Prometheus text exposition), {@code /healthz} (the process is alive
 * and its event loop answers) and {@code /readyz} (see {@link Readiness}). On the main listener it
 * sits just before {@link RegistryHandler} — and before any client authentication, so probes and
 * scrapers need no credentials — and passes every other request on; none of its paths can collide
 * with {@code /v2/}. On a separate admin listener it is the last handler and answers 404 to
 * everything else. Stateless, so one instance is shared by all channels.
 */
@ChannelHandler.Sharable
public final class AdminHandler extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(AdminHandler.class);
  static final String METRICS = "/metrics";
  static final String HEALTHZ = "/healthz";
  static final String READYZ = "/readyz";
  private static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";
  private static final String TEXT = "text/plain; charset=utf-8";

  private final @Nullable Supplier<String> scrape;
  private final Readiness readiness;
  private final boolean passOthers;

  /**
   * @param scrape renders the metrics, or null when metrics are not enabled (404)
   * @param passOthers true on the main listener: requests for other paths go to the next handler
   */
  public AdminHandler(@Nullable Supplier<String> scrape, Readiness readiness, boolean passOthers) {
    this.scrape = scrape;
    this.readiness = requireNonNull(readiness, "readiness");
    this.passOthers = passOthers;
  }

  /** The same routes for a listener of their own: everything else is answered 404. */
  AdminHandler standalone() {
    return new AdminHandler(scrape, readiness, false);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof HttpRequest req)) {
      if (passOthers) {
        ctx.fireChannelRead(msg);
      } else {
        ReferenceCountUtil.release(msg); // request bodies are never used
      }
      return;
    }
    // Raw: our paths have nothing to decode, and a broken escape must not throw. A request the
    // codec
    // could not decode is never ours: the client pipeline's rejector answers it.
    String path = new QueryStringDecoder(req.uri()).rawPath();
    boolean ours =
        !req.decoderResult().isFailure()
            && (path.equals(METRICS) || path.equals(HEALTHZ) || path.equals(READYZ));
    if (!ours && passOthers) {
      ctx.fireChannelRead(msg);
      return;
    }
    try {
      boolean head = req.method().equals(HttpMethod.HEAD);
      if (!ours) {
        send(
            ctx,
            HttpResponseStatus.NOT_FOUND,
            TEXT,
            "not found (try /metrics, /healthz, /readyz)\n",
            head);
      } else if (!head && !req.method().equals(HttpMethod.GET)) {
        send(ctx, HttpResponseStatus.METHOD_NOT_ALLOWED, TEXT, "only GET and HEAD\n", head);
      } else if (path.equals(HEALTHZ)) {
        send(ctx, HttpResponseStatus.OK, TEXT, "ok\n", head);
      } else if (path.equals(READYZ)) {
        readiness
            .check()
            .whenCompleteAsync(
                (r, err) -> {
                  if (err != null) {
                    send(
                        ctx,
                        HttpResponseStatus.SERVICE_UNAVAILABLE,
                        TEXT,
                        "not ready: " + err + "\n",
                        head);
                  } else if (r.ready()) {
                    send(ctx, HttpResponseStatus.OK, TEXT, "ready\n", head);
                  } else {
                    log.debug("readyz: {}", r.reason());
                    send(
                        ctx,
                        HttpResponseStatus.SERVICE_UNAVAILABLE,
                        TEXT,
                        "not ready: " + r.reason() + "\n",
                        head);
                  }
                },
                ctx.executor());
      } else if (scrape == null) {
        send(ctx, HttpResponseStatus.NOT_FOUND, TEXT, "metrics are not enabled\n", head);
      } else {
        send(ctx, HttpResponseStatus.OK, PROMETHEUS_TEXT, scrape.get(), head);
      }
    } finally {
      ReferenceCountUtil.release(msg);
    }
  }

  private static void send(
      ChannelHandlerContext ctx,
      HttpResponseStatus status,
      String type,
      String body,
      boolean head) {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    FullHttpResponse r =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1,
            status,
            head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(bytes));
    r.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
    r.headers().set(HttpHeaderNames.CONTENT_LENGTH, bytes.length);
    r.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
    ctx.writeAndFlush(r);
  }
}
