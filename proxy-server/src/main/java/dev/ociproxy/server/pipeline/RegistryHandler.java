package dev.ociproxy.server.pipeline;

import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.server.auth.Principal;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Last handler of the client pipeline: routes each well-formed request (the {@link
 * MalformedRequestRejector} has answered the others), authenticates and authorizes it, and
 * dispatches it to the upstream's registry; the response classes render the answer, {@link Replies}
 * sends it and {@link BlobReplies} streams blobs. Handles one request at a time: reading stops
 * while a response is in progress, so a pipelined request waits its turn. Adds the route, upstream,
 * user and cache outcome to the request's access-log entry.
 */
final class RegistryHandler extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(RegistryHandler.class);

  private final V2Router router;
  private final ClientAccess access;
  private final @Nullable PeerPath peers;
  private @Nullable Replies replies;
  private @Nullable BlobReplies blobs;

  /**
   * @param peers the fleet's internal path, or null when this replica runs alone
   */
  RegistryHandler(V2Router router, ClientAccess access, @Nullable PeerPath peers) {
    this.router = router;
    this.access = access;
    this.peers = peers;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (!(msg instanceof HttpRequest req)) {
      ReferenceCountUtil.release(msg); // request bodies are never used
      return;
    }
    try {
      ctx.channel().config().setAutoRead(false);
      handle(ctx, req, replies(ctx, AccessLog.current(ctx.channel())));
    } finally {
      ReferenceCountUtil.release(msg);
    }
  }

  /** This channel's replies, now answering the request whose access-log entry is {@code entry}. */
  private Replies replies(ChannelHandlerContext ctx, AccessLog.Entry entry) {
    Replies r = replies;
    if (r == null) {
      r = new Replies(ctx, access, entry);
      replies = r;
      blobs = new BlobReplies(r);
    }
    r.begin(entry);
    return r;
  }

  private void handle(ChannelHandlerContext ctx, HttpRequest req, Replies replies) {
    AccessLog.Entry entry = replies.entry();
    boolean head = req.method().name().equals("HEAD");
    if (peers != null && PeerPath.matches(req.uri())) {
      handlePeer(peers, req, replies, head);
      return;
    }
    V2Request route;
    try {
      route = router.route(req.method(), req.uri());
    } catch (RegistryException e) {
      replies.sendError(e, head);
      return;
    }
    if (route instanceof V2Request.Scoped s) {
      entry.upstream(s.registry().name());
    }
    entry.route(V2Request.routeName(route));
    CompletableFuture<Principal> allowed = access.check(req, route, ctx.channel().remoteAddress());
    if (allowed.isDone() && !allowed.isCompletedExceptionally()) {
      dispatch(replies, req, route, allowed.join(), head); // no hop through the event loop's queue
    } else {
      replies.whenComplete(
          allowed, head, principal -> dispatch(replies, req, route, principal, head));
    }
  }

  private void dispatch(
      Replies replies, HttpRequest req, V2Request route, Principal principal, boolean head) {
    AccessLog.Entry entry = replies.entry();
    if (principal != null) {
      entry.user(principal.user());
    }
    if (route instanceof V2Request.ApiVersionCheck) {
      replies.send(ApiVersionResponses.of(head));
    } else if (route instanceof V2Request.GetManifest m && m.head()) {
      replies.whenComplete(
          m.registry().manifestHead(m.repository(), m.reference(), AcceptHeader.mediaTypes(req)),
          true,
          h -> {
            entry.cache(ManifestResponses.cacheOutcome(h));
            replies.send(ManifestResponses.head(h));
          });
    } else if (route instanceof V2Request.GetManifest m) {
      replies.whenComplete(
          m.registry().manifest(m.repository(), m.reference(), AcceptHeader.mediaTypes(req)),
          head,
          manifest -> {
            entry.cache(ManifestResponses.cacheOutcome(manifest));
            replies.send(ManifestResponses.of(manifest, m.head()));
          });
    } else if (route instanceof V2Request.GetBlob b && b.head()) {
      CompletableFuture<Long> size = b.registry().blobSize(b.repository(), b.digest());
      // Only an upstream round trip leaves it pending: one already answered came from the cache.
      String cache = size.isDone() ? "hit" : "miss";
      replies.whenComplete(
          size,
          true,
          known -> {
            entry.cache(cache);
            replies.send(BlobResponses.head(b.digest(), known));
          });
    } else if (route instanceof V2Request.GetBlob b) {
      replies.whenComplete(
          StoreRedirects.source(req, b), false, source -> blobs().send(req, b.digest(), source));
    } else if (route instanceof V2Request.GetReferrers r) {
      replies.whenComplete(
          r.registry().referrers(r.repository(), r.subject()),
          head,
          referrers -> {
            if (referrers.stale()) {
              entry.cache("stale");
            }
            replies.send(ReferrersResponses.of(referrers, r.artifactType(), head));
          });
    } else if (route instanceof V2Request.ListTags t) {
      replies.whenComplete(
          t.registry().tagList(t.repository(), t.query()),
          head,
          list -> replies.send(TagListResponses.of(replies.ctx().alloc(), list, t, head)));
    }
  }

  /** Another replica's request: authenticated by the cluster secret, not by client credentials. */
  private void handlePeer(PeerPath peers, HttpRequest req, Replies replies, boolean head) {
    replies.entry().route("peer");
    PeerPath.Request p;
    try {
      p = peers.route(req);
    } catch (RegistryException e) {
      replies.sendError(e, head);
      return;
    }
    if (p instanceof PeerPath.Blob b) {
      replies.entry().upstream(b.upstream().name());
      replies.whenComplete(
          b.upstream().blobForPeer(b.repository(), b.digest()),
          false,
          source -> blobs().send(req, b.digest(), source));
    } else if (p instanceof PeerPath.TagQuestion t) {
      replies.entry().upstream(t.upstream().name());
      replies.whenComplete(
          t.upstream().tagForPeer(t.repository(), t.tag(), t.accept()),
          false,
          answer -> replies.send(PeerPath.answer(answer)));
    } else {
      replies.entry().quiet(); // a health check every 2 s per replica would drown the log
      replies.send(ApiVersionResponses.of(false));
    }
  }

  private BlobReplies blobs() {
    BlobReplies b = blobs;
    if (b == null) {
      throw new IllegalStateException("no request read yet");
    }
    return b;
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    BlobReplies b = blobs;
    if (b != null && ctx.channel().isWritable()) {
      b.pump();
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
}
