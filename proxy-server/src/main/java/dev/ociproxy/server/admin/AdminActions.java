package dev.ociproxy.server.admin;

import static java.util.Objects.requireNonNull;

import dev.ociproxy.core.airgap.DriftLog;
import dev.ociproxy.core.airgap.WarmJobs;
import dev.ociproxy.core.airgap.WarmProgress;
import dev.ociproxy.core.airgap.WarmReport;
import dev.ociproxy.core.airgap.Warmer;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.server.auth.AdminToken;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers the admin actions: {@code POST /admin/warm} runs the {@link Warmer} and answers its
 * report, {@code GET /admin/drift} lists the pinned tags the upstream has moved ({@link
 * DriftLog#current()}). It is only ever in the admin listener's pipeline, after the body aggregator
 * and before {@link AdminHandler}, never in the client-facing one: whoever reaches it can make the
 * proxy fetch from its upstreams. Requests outside {@code /admin/} are passed on. Stateless, so
 * shared by all channels.
 *
 * <p>With an {@link AdminToken}, every request under {@code /admin/} must carry it ({@code
 * Authorization: Bearer}); without, it gets 401 and nothing runs. The probes and {@code /metrics}
 * stay open: they start nothing.
 *
 * <p>A warm answers once it is over: 200 when every reference is complete, 502 when any failed (the
 * body is the full report either way, so scripts can use {@code curl --fail}).
 */
@ChannelHandler.Sharable
public final class AdminActions extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(AdminActions.class);

  /** The origin of the warms started here, as the status page names it. */
  static final String ORIGIN = "POST /admin/warm";

  static final String WARM = "/admin/warm";
  static final String DRIFT = "/admin/drift";

  /** Largest request body accepted (the aggregator answers 413 beyond it). */
  public static final int MAX_BODY_BYTES = 64 * 1024;

  /**
   * Set on a channel while its warm runs, so the admin idle timeout does not close it meanwhile.
   */
  static final AttributeKey<Boolean> BUSY = AttributeKey.valueOf(AdminActions.class, "busy");

  private final Warmer warmer;
  private final DriftLog drift;
  private final List<String> upstreams;
  private final @Nullable String defaultUpstream;
  private final @Nullable AdminToken token;
  private final WarmJobs jobs;

  /**
   * @param upstreams the configured upstream names (what a reference's first component may name)
   * @param defaultUpstream what references without an upstream mean, or null when none is default
   * @param token what every action request must carry as {@code Authorization: Bearer}, or null for
   *     none (whoever reaches the admin listener may call them)
   * @param jobs where each warm is recorded while it runs and once over (the status page shows
   *     them)
   */
  public AdminActions(
      Warmer warmer,
      DriftLog drift,
      Collection<String> upstreams,
      @Nullable String defaultUpstream,
      @Nullable AdminToken token,
      WarmJobs jobs) {
    this.warmer = requireNonNull(warmer, "warmer");
    this.drift = requireNonNull(drift, "drift");
    this.upstreams = List.copyOf(upstreams);
    this.defaultUpstream = defaultUpstream;
    this.token = token;
    this.jobs = requireNonNull(jobs, "jobs");
  }

  /** True while a warm answers on {@code ch}. */
  static boolean busy(Channel ch) {
    return Boolean.TRUE.equals(ch.attr(BUSY).get());
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof FullHttpRequest req)) {
      ctx.fireChannelRead(msg);
      return;
    }
    String path =
        new QueryStringDecoder(req.uri()).rawPath(); // nothing to decode; %zz must not throw
    if (!path.equals("/admin") && !path.startsWith("/admin/")) {
      ctx.fireChannelRead(msg);
      return;
    }
    try {
      boolean head = req.method().equals(HttpMethod.HEAD);
      if (req.decoderResult().isFailure()) {
        send(
                ctx,
                HttpResponseStatus.BAD_REQUEST,
                "malformed request: " + req.decoderResult().cause(),
                false)
            .addListener(ChannelFutureListener.CLOSE);
      } else if (token != null && !token.admits(req.headers().get(HttpHeaderNames.AUTHORIZATION))) {
        log.warn(
            "admin {} {} from {} refused: {}",
            req.method(),
            path,
            ctx.channel().remoteAddress(),
            req.headers().contains(HttpHeaderNames.AUTHORIZATION) ? "wrong token" : "no token");
        unauthorized(ctx, head);
      } else if (path.equals(DRIFT)) {
        if (head || req.method().equals(HttpMethod.GET)) {
          sendJson(ctx, HttpResponseStatus.OK, AdminJson.drift(drift.current()), head);
        } else {
          notAllowed(ctx, "GET, HEAD");
        }
      } else if (path.equals(WARM)) {
        if (req.method().equals(HttpMethod.POST)) {
          warm(ctx, ByteBufUtil.getBytes(req.content()));
        } else {
          notAllowed(ctx, "POST");
        }
      } else {
        send(
            ctx,
            HttpResponseStatus.NOT_FOUND,
            "not found: " + path + " (admin actions: POST " + WARM + ", GET " + DRIFT + ")",
            head);
      }
    } finally {
      ReferenceCountUtil.release(msg);
    }
  }

  private void warm(ChannelHandlerContext ctx, byte[] body) {
    WarmRequest request;
    try {
      request = WarmRequest.parse(body, upstreams, defaultUpstream);
    } catch (IllegalArgumentException | RegistryException e) {
      send(
          ctx,
          HttpResponseStatus.BAD_REQUEST,
          Objects.requireNonNullElse(e.getMessage(), "bad request"),
          false);
      return;
    }
    log.info(
        "admin warm from {}: {} {}",
        ctx.channel().remoteAddress(),
        request.refs(),
        request.platforms().isEmpty() ? "(all platforms)" : request.platforms());
    WarmProgress progress = new WarmProgress();
    WarmJobs.Job job =
        jobs.started(ORIGIN, request.refs().stream().map(Object::toString).toList(), progress);
    Channel ch = ctx.channel();
    ch.attr(BUSY).set(Boolean.TRUE);
    // One answer at a time: a pipelined request waits in the flow control handler until this is
    // sent.
    ch.config().setAutoRead(false);
    warmer
        .warm(request.refs(), request.platforms(), request.attached(), progress)
        .whenCompleteAsync(
            (report, err) -> {
              ch.attr(BUSY).set(null);
              jobs.finished(job, report, err);
              if (err != null) {
                log.warn("admin warm failed: {}", err.toString());
                send(ctx, HttpResponseStatus.INTERNAL_SERVER_ERROR, "warm failed: " + err, false);
              } else {
                for (WarmReport.Item i : report.items()) {
                  if (i.ok()) {
                    log.info(
                        "admin warm: {} -> {} ({} blob(s) fetched, {} already cached)",
                        i.ref(),
                        i.digest(),
                        i.blobsFetched(),
                        i.blobsCached());
                  } else {
                    log.warn("admin warm: {} failed: {}", i.ref(), String.join("; ", i.problems()));
                  }
                }
                sendJson(
                    ctx,
                    report.ok() ? HttpResponseStatus.OK : HttpResponseStatus.BAD_GATEWAY,
                    AdminJson.warm(report, progress.snapshot()),
                    false);
              }
              ch.config().setAutoRead(true);
            },
            ctx.executor());
  }

  private static void notAllowed(ChannelHandlerContext ctx, String allow) {
    FullHttpResponse r =
        response(
            HttpResponseStatus.METHOD_NOT_ALLOWED,
            AdminJson.error("method not allowed (allowed: " + allow + ")"),
            false);
    r.headers().set(HttpHeaderNames.ALLOW, allow);
    ctx.writeAndFlush(r);
  }

  private static void unauthorized(ChannelHandlerContext ctx, boolean head) {
    FullHttpResponse r =
        response(
            HttpResponseStatus.UNAUTHORIZED,
            AdminJson.error("admin actions need 'Authorization: Bearer <admin.token>'"),
            head);
    r.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer realm=\"registry-proxy admin\"");
    ctx.writeAndFlush(r);
  }

  private static ChannelFuture send(
      ChannelHandlerContext ctx, HttpResponseStatus status, String error, boolean head) {
    return sendJson(ctx, status, AdminJson.error(error), head);
  }

  private static ChannelFuture sendJson(
      ChannelHandlerContext ctx, HttpResponseStatus status, byte[] body, boolean head) {
    return ctx.writeAndFlush(response(status, body, head));
  }

  private static FullHttpResponse response(HttpResponseStatus status, byte[] body, boolean head) {
    FullHttpResponse r =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1,
            status,
            head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body));
    r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
    r.headers().set(HttpHeaderNames.CONTENT_LENGTH, body.length);
    r.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
    return r;
  }
}
