package dev.ociproxy.server.admin.page;

import static java.util.Objects.requireNonNull;

import dev.ociproxy.server.auth.AdminToken;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves the status page on the admin listener: {@code GET /} (the page), {@code /status.css} and
 * {@code /status.js}; passes every other request on. It is never in the registry listener's
 * pipeline. With an {@link AdminToken}, {@code /} without {@code Authorization: Bearer <token>}
 * gets the page that asks for the token and nothing else, and a wrong token gets 401. Every answer
 * carries a strict Content-Security-Policy: scripts and styles from this origin only, no inline
 * code, no frames, no form posts elsewhere. Stateless apart from the page; shared by all channels.
 */
@ChannelHandler.Sharable
public final class StatusPageHandler extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(StatusPageHandler.class);
  static final String CSP =
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
          + "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
  private static final String HTML = "text/html; charset=utf-8";

  /** Sent by the page's script when it refreshes: only the live sections are rendered. */
  static final String LIVE_ONLY = "X-Status-Live";

  private static final String FAVICON = "/favicon.ico";

  private final StatusPage page;
  private final @Nullable AdminToken token;
  private final byte[] css = resource("status.css");
  private final byte[] js = resource("status.js");

  /**
   * @param token what {@code /} must carry to show anything, or null when the page is open
   */
  public StatusPageHandler(StatusPage page, @Nullable AdminToken token) {
    this.page = requireNonNull(page, "page");
    this.token = token;
  }

  private static byte[] resource(String name) {
    try (InputStream in = StatusPageHandler.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("missing resource " + name);
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof HttpRequest req)) {
      ctx.fireChannelRead(msg);
      return;
    }
    QueryStringDecoder uri = new QueryStringDecoder(req.uri());
    String path =
        uri.rawPath(); // raw: our paths have nothing to decode, and a broken escape must not throw
    if (!path.equals("/")
        && !path.equals("/status.css")
        && !path.equals("/status.js")
        && !path.equals(FAVICON)) {
      ctx.fireChannelRead(msg);
      return;
    }
    try {
      boolean head = req.method().equals(HttpMethod.HEAD);
      if (!head && !req.method().equals(HttpMethod.GET)) {
        FullHttpResponse r =
            response(
                HttpResponseStatus.METHOD_NOT_ALLOWED,
                "text/plain; charset=utf-8",
                "the status page is read-only: GET and HEAD\n".getBytes(StandardCharsets.UTF_8),
                false);
        r.headers().set(HttpHeaderNames.ALLOW, "GET, HEAD");
        ctx.writeAndFlush(r);
      } else if (path.equals(FAVICON)) {
        // Browsers ask for it on their own; no icon, and no 404 in the console either.
        ctx.writeAndFlush(
            response(HttpResponseStatus.NO_CONTENT, "image/x-icon", new byte[0], true));
      } else if (path.equals("/status.css")) {
        ctx.writeAndFlush(response(HttpResponseStatus.OK, "text/css; charset=utf-8", css, head));
      } else if (path.equals("/status.js")) {
        ctx.writeAndFlush(
            response(HttpResponseStatus.OK, "text/javascript; charset=utf-8", js, head));
      } else {
        page(ctx, req.headers(), uri, head);
      }
    } finally {
      ReferenceCountUtil.release(msg);
    }
  }

  private void page(
      ChannelHandlerContext ctx, HttpHeaders headers, QueryStringDecoder uri, boolean head) {
    String auth = headers.get(HttpHeaderNames.AUTHORIZATION);
    if (token != null && auth != null && !token.admits(auth)) {
      log.warn("status page from {} refused: wrong token", ctx.channel().remoteAddress());
      ctx.writeAndFlush(
          response(
              HttpResponseStatus.UNAUTHORIZED,
              "text/plain; charset=utf-8",
              "wrong admin token\n".getBytes(StandardCharsets.UTF_8),
              head));
      return;
    }
    boolean unlocked = token == null || auth != null;
    boolean liveOnly = headers.contains(LIVE_ONLY);
    StatusPage.View view;
    try {
      view = StatusPage.View.of(uri.parameters());
    } catch (IllegalArgumentException e) { // a broken percent-escape in the query
      ctx.writeAndFlush(
          response(
              HttpResponseStatus.BAD_REQUEST,
              "text/plain; charset=utf-8",
              ("malformed query: " + e.getMessage() + "\n").getBytes(StandardCharsets.UTF_8),
              head));
      return;
    }
    CompletableFuture.supplyAsync(
            () -> page.render(view, token != null, unlocked, liveOnly), page.executor())
        .whenCompleteAsync(
            (html, err) -> {
              if (err != null) {
                log.warn("status page failed: {}", err.toString(), err);
                ctx.writeAndFlush(
                    response(
                        HttpResponseStatus.INTERNAL_SERVER_ERROR,
                        "text/plain; charset=utf-8",
                        "the status page failed; see the log\n".getBytes(StandardCharsets.UTF_8),
                        head));
              } else {
                ctx.writeAndFlush(
                    response(
                        HttpResponseStatus.OK, HTML, html.getBytes(StandardCharsets.UTF_8), head));
              }
            },
            ctx.executor());
  }

  private static FullHttpResponse response(
      HttpResponseStatus status, String type, byte[] body, boolean head) {
    FullHttpResponse r =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1,
            status,
            head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body));
    HttpHeaders h = r.headers();
    h.set(HttpHeaderNames.CONTENT_TYPE, type);
    h.set(HttpHeaderNames.CONTENT_LENGTH, body.length);
    h.set(HttpHeaderNames.CACHE_CONTROL, "no-store");
    h.set(HttpHeaderNames.CONTENT_SECURITY_POLICY, CSP);
    h.set("X-Content-Type-Options", "nosniff");
    h.set("X-Frame-Options", "DENY");
    h.set("Referrer-Policy", "no-referrer");
    h.set(HttpHeaderNames.VARY, HttpHeaderNames.AUTHORIZATION);
    return r;
  }
}
