package dev.ociproxy.server.pipeline;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Sits just before the registry handler: when a request's {@code ?ns=} names a configured upstream
 * (containerd's mirror convention), the response carries {@code OCI-Namespace: <ns>}, telling the
 * client which upstream answered, as the distribution-spec proxying proposal describes. An unknown
 * {@code ns} is answered 404 by the router and is not echoed.
 *
 * <p>Responses leave in request order, so one queue entry per request pairs them up even when a
 * client pipelines.
 */
final class NamespaceEchoHandler extends ChannelDuplexHandler {
  static final String HEADER = "OCI-Namespace";

  private final Set<String> upstreams;
  private final ArrayDeque<Optional<String>> pending = new ArrayDeque<>();

  NamespaceEchoHandler(Set<String> upstreams) {
    this.upstreams = Set.copyOf(upstreams);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof HttpRequest req) {
      pending.add(namespace(req.uri()));
    }
    ctx.fireChannelRead(msg);
  }

  private Optional<String> namespace(String uri) {
    if (uri.indexOf("ns=") < 0 || uri.length() > V2Router.MAX_URI_LENGTH) {
      return Optional.empty();
    }
    List<String> ns = new QueryStringDecoder(uri).parameters().get("ns");
    return ns == null || ns.isEmpty() || !upstreams.contains(ns.get(0))
        ? Optional.empty()
        : Optional.of(ns.get(0));
  }

  @Override
  public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
    if (msg instanceof HttpResponse r && r.status().code() >= 200) {
      Optional<String> ns = pending.poll();
      if (ns != null && ns.isPresent()) {
        r.headers().set(HEADER, ns.get());
      }
    }
    ctx.write(msg, promise);
  }
}
