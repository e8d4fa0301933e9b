package dev.ociproxy.core.upstream;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.timeout.IdleStateHandler;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * One request/response on one upstream connection. Every method runs on the connection's event
 * loop. Body chunks that arrive before a sink is attached are held (at most one socket read's
 * worth: the connection reads nothing more until a sink is attached, then reads freely until the
 * sink pauses it through {@link BodyFlow}).
 */
final class Exchange {
  private final Endpoint endpoint;
  private final HttpMethod method;
  private final String path;
  private final CompletableFuture<UpstreamResponse> headers;
  private final HttpTransport transport;
  private final ArrayDeque<ByteBuf> pending = new ArrayDeque<>();
  private final Channel channel;
  private @Nullable BodySink sink;
  private boolean lastReceived;
  private boolean done;
  private @Nullable Throwable failure;
  private boolean ended;
  private @Nullable Runnable onEnd;

  /** Set while the sink has asked us to stop reading. */
  private boolean paused;

  private long pausedSince;
  private final BodyFlow flow =
      new BodyFlow() {
        @Override
        public void pause() {
          onLoop(
              () -> {
                if (!done && !lastReceived) {
                  paused = true;
                  pausedSince = System.nanoTime();
                  channel.config().setAutoRead(false);
                }
              });
        }

        @Override
        public void resume() {
          onLoop(
              () -> {
                if (paused) {
                  paused = false;
                  if (!done && !lastReceived) {
                    // The upstream's silence is counted from now: the pause was ours, not its.
                    IdleStateHandler idle = channel.pipeline().get(IdleStateHandler.class);
                    if (idle != null) {
                      idle.resetReadTimeout();
                    }
                    channel.config().setAutoRead(true);
                  }
                }
              });
        }
      };

  Exchange(
      Channel channel,
      Endpoint endpoint,
      HttpMethod method,
      String path,
      CompletableFuture<UpstreamResponse> headers,
      HttpTransport transport) {
    this.channel = channel;
    this.endpoint = endpoint;
    this.method = method;
    this.path = path;
    this.headers = headers;
    this.transport = transport;
  }

  /**
   * Runs {@code r} once the exchange is over: the body fully read, failed or aborted (at once if it
   * already is). Call on the connection's event loop.
   */
  void whenEnded(Runnable r) {
    if (ended) {
      r.run();
    } else {
      onEnd = onEnd == null ? r : chain(onEnd, r);
    }
  }

  private static Runnable chain(Runnable a, Runnable b) {
    return () -> {
      a.run();
      b.run();
    };
  }

  private void ended() {
    if (!ended) {
      ended = true;
      Runnable r = onEnd;
      onEnd = null;
      if (r != null) {
        r.run();
      }
    }
  }

  Channel channel() {
    return channel;
  }

  HttpMethod method() {
    return method;
  }

  /** What was asked, for the log: method, origin and path. */
  String asked() {
    return method + " " + endpoint.hostHeader() + path;
  }

  void onHeaders(HttpResponse response) {
    headers.complete(new UpstreamResponse(response, this));
  }

  boolean headersReceived() {
    return headers.isDone();
  }

  /**
   * How long the sink has kept the reading stopped, or null when it has not: a silent upstream is
   * not timed out then, since the silence is ours.
   */
  @Nullable Duration pausedFor() {
    return paused ? Duration.ofNanos(System.nanoTime() - pausedSince) : null;
  }

  Duration readTimeout() {
    return endpoint.readTimeout();
  }

  /** Takes ownership of {@code chunk}. */
  void onContent(ByteBuf chunk, boolean last, boolean keepAlive) {
    if (done) {
      chunk.release();
      return;
    }
    if (last) {
      lastReceived = true;
      // The body is fully on our side: the connection can serve the next exchange now.
      ExchangeHandler h = channel.pipeline().get(ExchangeHandler.class);
      if (h != null) {
        h.end(this);
      }
      if (keepAlive && h != null) {
        transport.release(endpoint, channel, h);
      } else {
        channel.close();
      }
      ended(); // after the release: whoever was waiting for our place may reuse the connection
    }
    BodySink s = sink;
    if (s == null) {
      if (chunk.isReadable()) {
        pending.add(chunk);
      } else {
        chunk.release();
      }
      return;
    }
    deliver(s, chunk);
    if (lastReceived) {
      complete(s);
    }
  }

  private static void deliver(BodySink s, ByteBuf chunk) {
    try {
      if (chunk.isReadable()) {
        s.onChunk(chunk);
      }
    } finally {
      chunk.release();
    }
  }

  private void complete(BodySink s) {
    if (!done) {
      done = true;
      s.onComplete();
    }
  }

  /** Attaches the body consumer; delivers anything already received. */
  void stream(BodySink s) {
    if (sink != null) {
      throw new IllegalStateException("body already consumed");
    }
    sink = s;
    s.onStart(flow);
    Throwable failed = failure;
    if (failed != null) {
      drainPending();
      done = true;
      s.onError(failed);
      return;
    }
    ByteBuf next;
    while (!done && (next = pending.poll()) != null) {
      deliver(s, next);
    }
    if (lastReceived) {
      complete(s);
    } else if (!done && !paused) {
      // Sinks consume each chunk synchronously or pause us when what they hold reaches their
      // bound, so reading as fast as the socket delivers cannot pile data up: let the transport
      // read in batches instead of one event-loop round trip per chunk.
      channel.config().setAutoRead(true);
    }
  }

  void fail(Throwable cause) {
    ended();
    if (done || lastReceived) {
      return; // already failed, or the whole body is on our side
    }
    done = true;
    if (!headers.isDone()) {
      headers.completeExceptionally(cause);
      return;
    }
    BodySink s = sink;
    if (s == null) {
      done = false; // delivered when a sink attaches
      failure = cause;
      return;
    }
    drainPending();
    s.onError(cause);
  }

  /** Stops reading: closes the connection unless the body already ended. */
  void abort() {
    ended();
    drainPending();
    if (!lastReceived) {
      channel.close();
    }
    done = true;
  }

  private void drainPending() {
    ByteBuf b;
    while ((b = pending.poll()) != null) {
      b.release();
    }
  }

  /** Runs {@code r} on this connection's event loop: now if called there, else as a task. */
  void onLoop(Runnable r) {
    if (channel.eventLoop().inEventLoop()) {
      r.run();
    } else {
      channel.eventLoop().execute(r);
    }
  }
}
