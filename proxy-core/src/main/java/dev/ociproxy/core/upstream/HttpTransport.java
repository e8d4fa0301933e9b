package dev.ociproxy.core.upstream;

import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.RegistryException;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequestEncoder;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateHandler;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.Deque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import org.jspecify.annotations.Nullable;

/**
 * Sends one HTTP/1.1 request at a time per connection and hands back the response with a body that
 * is read on demand. Keeps idle keep-alive connections per origin for reuse. Thread-safe.
 */
public final class HttpTransport {
  /** Idle pooled connections per origin beyond this are closed rather than kept. */
  private static final int MAX_IDLE_PER_ORIGIN = 16;

  private final EventLoopGroup group;
  private final Class<? extends Channel> channelType;
  private final ConcurrentMap<String, Deque<Channel>> idle = new ConcurrentHashMap<>();

  public HttpTransport(EventLoopGroup group, Class<? extends Channel> channelType) {
    this.group = group;
    this.channelType = channelType;
  }

  /** Sends a body-less request; the future completes when the response headers have arrived. */
  CompletableFuture<UpstreamResponse> send(
      Endpoint endpoint, HttpMethod method, URI uri, HttpHeaders headers) {
    CompletableFuture<UpstreamResponse> result = new CompletableFuture<>();
    String pathAndQuery =
        (uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath())
            + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery());
    DefaultFullHttpRequest request =
        new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, method, pathAndQuery);
    request.headers().set(headers);
    request.headers().set(HttpHeaderNames.HOST, endpoint.hostHeader());
    request.headers().set(HttpHeaderNames.CONTENT_LENGTH, 0);
    Channel pooled = pollIdle(endpoint);
    if (pooled == null) {
      connectAndDispatch(endpoint, request, result);
      return result;
    }
    // A kept-alive connection may have been closed by the server just as we reused it. Our
    // requests are idempotent and nothing has reached the caller yet, so such a failure gets one
    // more try on a fresh connection.
    CompletableFuture<UpstreamResponse> first = new CompletableFuture<>();
    dispatch(pooled, endpoint, request.retainedDuplicate(), first);
    first.whenComplete(
        (resp, err) -> {
          if (err == null) {
            request.release();
            result.complete(resp);
          } else if (err instanceof UpstreamUnavailableException) {
            connectAndDispatch(endpoint, request, result);
          } else {
            request.release();
            result.completeExceptionally(err);
          }
        });
    return result;
  }

  private void connectAndDispatch(
      Endpoint endpoint, FullHttpRequest request, CompletableFuture<UpstreamResponse> result) {
    connect(endpoint)
        .addListener(
            (ChannelFuture f) -> {
              if (f.isSuccess() && !admitted(endpoint, f.channel())) {
                f.channel().close();
                request.release();
                result.completeExceptionally(
                    new RegistryException(
                        OciErrorCode.UNAVAILABLE,
                        502,
                        "refused to follow the upstream to "
                            + endpoint.hostHeader()
                            + ": an internal address, and the upstream is not on one"));
              } else if (f.isSuccess()) {
                dispatch(f.channel(), endpoint, request, result);
              } else {
                request.release();
                Throwable cause = f.cause();
                result.completeExceptionally(
                    cause instanceof io.netty.channel.ConnectTimeoutException
                        ? new UpstreamTimeoutException(
                            "connect to " + endpoint.hostHeader() + " timed out")
                        : new UpstreamUnavailableException(
                            "cannot connect to " + endpoint.hostHeader() + ": " + message(cause),
                            cause));
              }
            });
  }

  /** Whether the address a new connection reached may be used; logs and counts a refusal. */
  private static boolean admitted(Endpoint endpoint, Channel ch) {
    if (!(ch.remoteAddress() instanceof InetSocketAddress peer)
        || peer.getAddress() == null
        || endpoint.admits(peer.getAddress())) {
      return true;
    }
    endpoint.metrics().addressRefused(endpoint.hostHeader(), peer.getAddress().getHostAddress());
    return false;
  }

  private static String message(Throwable t) {
    return t instanceof ConnectException || t.getMessage() != null
        ? String.valueOf(t.getMessage())
        : t.getClass().getSimpleName();
  }

  private void dispatch(
      Channel ch,
      Endpoint endpoint,
      FullHttpRequest request,
      CompletableFuture<UpstreamResponse> result) {
    ExchangeHandler handler = ch.pipeline().get(ExchangeHandler.class);
    ch.eventLoop()
        .execute(
            () -> {
              if (!handler.reusable()) {
                // A pooled connection died, or got bytes we never asked for, between poll and use:
                // retry on a fresh one.
                ch.close();
                connectAndDispatch(endpoint, request, result);
                return;
              }
              Exchange exchange =
                  new Exchange(ch, endpoint, request.method(), request.uri(), result, this);
              // Reading stays off until the request is out; an idle connection read until now.
              ch.config().setAutoRead(false);
              handler.begin(exchange);
              ch.eventLoop()
                  .schedule(
                      () -> {
                        if (!exchange.headersReceived()) {
                          handler.fail(
                              new UpstreamTimeoutException(
                                  "upstream sent no response headers within "
                                      + endpoint.firstByteTimeout().toMillis()
                                      + " ms"));
                          ch.close();
                        }
                      },
                      endpoint.firstByteTimeout().toMillis(),
                      TimeUnit.MILLISECONDS);
              ch.writeAndFlush(request)
                  .addListener(
                      (ChannelFuture w) -> {
                        if (w.isSuccess()) {
                          ch.read();
                        } else {
                          handler.fail(
                              new UpstreamUnavailableException(
                                  "write to " + endpoint.hostHeader() + " failed", w.cause()));
                          ch.close();
                        }
                      });
            });
  }

  // q is concurrent: its iterator tolerates the removal, and remove() tells whether we won the
  // race.
  @SuppressWarnings("ModifyCollectionInEnhancedForLoop")
  private @Nullable Channel pollIdle(Endpoint endpoint) {
    Deque<Channel> q = idle.get(endpoint.poolKey());
    if (q == null) {
      return null;
    }
    // Prefer a connection on the calling event loop: the response is then handled on the same
    // thread as the client it is for, without cross-thread hand-offs.
    for (Channel ch : q) {
      if (ch.eventLoop().inEventLoop() && q.remove(ch) && ch.isActive()) {
        return ch;
      }
    }
    Channel ch;
    while ((ch = q.pollFirst()) != null) {
      if (ch.isActive()) {
        return ch;
      }
    }
    return null;
  }

  /** The event loop of the calling thread if it is one of ours, else the next one. */
  private EventLoop preferredLoop() {
    for (io.netty.util.concurrent.EventExecutor e : group) {
      if (e.inEventLoop()) {
        return (EventLoop) e;
      }
    }
    return group.next();
  }

  /**
   * Returns a connection whose last response was framed unambiguously and read to its end to the
   * idle pool, unless bytes beyond that response are already here. Called on its event loop. An
   * idle connection keeps reading, so that whatever arrives while it waits closes it (see {@link
   * ExchangeHandler}) instead of being read later as the answer to another request.
   */
  void release(Endpoint endpoint, Channel ch, ExchangeHandler handler) {
    Deque<Channel> q = idle.computeIfAbsent(endpoint.poolKey(), k -> new ConcurrentLinkedDeque<>());
    if (q.size() >= MAX_IDLE_PER_ORIGIN || !handler.reusable()) {
      ch.close();
      return;
    }
    ch.config().setAutoRead(true);
    q.addFirst(ch);
  }

  private ChannelFuture connect(Endpoint endpoint) {
    Bootstrap b =
        new Bootstrap()
            .group(preferredLoop())
            .channel(channelType)
            .option(ChannelOption.AUTO_READ, false)
            .option(ChannelOption.TCP_NODELAY, true)
            .option(ChannelOption.SO_RCVBUF, 1 << 20)
            .option(
                ChannelOption.RCVBUF_ALLOCATOR,
                new io.netty.channel.AdaptiveRecvByteBufAllocator(512, 16 * 1024, 1024 * 1024))
            .option(
                ChannelOption.CONNECT_TIMEOUT_MILLIS,
                (int) Math.min(Integer.MAX_VALUE, endpoint.connectTimeout().toMillis()))
            .handler(
                new ChannelInitializer<Channel>() {
                  @Override
                  protected void initChannel(Channel ch) {
                    ChannelPipeline p = ch.pipeline();
                    if (endpoint.ssl() != null) {
                      SslHandler ssl =
                          endpoint.ssl().newHandler(ch.alloc(), endpoint.host(), endpoint.port());
                      SSLEngine engine = ssl.engine();
                      SSLParameters params = engine.getSSLParameters();
                      params.setEndpointIdentificationAlgorithm("HTTPS");
                      engine.setSSLParameters(params);
                      p.addLast("ssl", ssl);
                    }
                    ResponseDecoder decoder = new ResponseDecoder();
                    p.addLast("encoder", new HttpRequestEncoder());
                    p.addLast("decoder", decoder);
                    p.addLast(
                        "idle",
                        new IdleStateHandler(
                            endpoint.readTimeout().toMillis(), 0, 0, TimeUnit.MILLISECONDS));
                    p.addLast("exchange", new ExchangeHandler(decoder, endpoint.metrics()));
                  }
                });
    return b.connect(endpoint.host(), endpoint.port());
  }

  /** Closes every idle pooled connection. */
  public void closeIdle() {
    idle.values().forEach(q -> q.forEach(Channel::close));
    idle.clear();
  }
}
