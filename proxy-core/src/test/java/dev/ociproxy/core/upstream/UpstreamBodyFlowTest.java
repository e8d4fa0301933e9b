package dev.ociproxy.core.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ociproxy.testing.NoLeakedBuffers;
import io.netty.buffer.ByteBuf;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.HttpMethod;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** A sink that pauses the body stops the upstream from being read until it resumes. */
@ExtendWith(NoLeakedBuffers.class)
class UpstreamBodyFlowTest {
  private static final int BODY = 64 << 20;
  private static final Duration READ_TIMEOUT = Duration.ofMillis(300);

  private ServerSocket server;
  private final AtomicLong served = new AtomicLong();

  /** The upstream goes silent (without closing) once it has sent this much of the body. */
  private volatile long stallAfter = Long.MAX_VALUE;

  private NioEventLoopGroup group;
  private UpstreamClient client;

  @BeforeEach
  void start() throws IOException {
    server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread t = new Thread(this::serveOne, "big-body-upstream");
    t.setDaemon(true);
    t.start();
    group = new NioEventLoopGroup(1);
    // A read timeout far shorter than the pauses below: a pause is ours, never the upstream's
    // silence.
    client =
        new UpstreamClient(
            new UpstreamOptions(
                "up.test",
                URI.create("http://127.0.0.1:" + server.getLocalPort()),
                null,
                null,
                null,
                Duration.ofSeconds(5),
                READ_TIMEOUT,
                Set.of()),
            new HttpTransport(group, NioSocketChannel.class));
  }

  @AfterEach
  void stop() throws IOException {
    server.close();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  /** Answers one request with a {@link #BODY}-byte body, counting what the socket accepted. */
  private void serveOne() {
    try (Socket s = server.accept()) {
      BufferedReader in =
          new BufferedReader(
              new InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1));
      String line;
      while ((line = in.readLine()) != null && !line.isEmpty()) {
        // request line and headers
      }
      OutputStream out = s.getOutputStream();
      out.write(
          ("HTTP/1.1 200 OK\r\nContent-Length: " + BODY + "\r\n\r\n")
              .getBytes(StandardCharsets.ISO_8859_1));
      byte[] piece = new byte[64 * 1024];
      for (int sent = 0; sent < BODY; sent += piece.length) {
        if (sent >= stallAfter) {
          out.flush();
          break;
        }
        out.write(piece);
        served.addAndGet(piece.length);
      }
      out.flush();
      s.getInputStream().read(); // hold the connection until the client is done
    } catch (IOException e) {
      // closed by the test
    }
  }

  @Test
  void pausedBodyIsNotReadUntilTheSinkResumes_howeverLongerThanTheReadTimeoutThePause()
      throws Exception {
    CountingSink sink = streamBody(true);
    BodyFlow flow = sink.paused.get(10, TimeUnit.SECONDS);
    AtomicLong received = sink.received;
    CompletableFuture<Long> complete = sink.complete;

    Thread.sleep(
        500); // whatever one read had already decoded arrives; then nothing more (and no timeout)
    long whilePaused = received.get();
    long servedWhilePaused = served.get();
    Thread.sleep(500);

    assertThat(received.get()).isEqualTo(whilePaused);
    assertThat(whilePaused).isLessThan(BODY / 8);
    assertThat(served.get())
        .as("the upstream is held back by full socket buffers")
        .isEqualTo(servedWhilePaused)
        .isLessThan(BODY);
    assertThat(complete).isNotDone();

    flow.resume(); // from this (non-event-loop) thread
    assertThat(complete.get(30, TimeUnit.SECONDS)).isEqualTo((long) BODY);
  }

  @Test
  void upstreamThatGoesSilentWhileWeReadIsStillTimedOut() throws Exception {
    stallAfter = 1 << 20;
    CountingSink sink = streamBody(false);

    assertThatThrownBy(() -> sink.complete.get(10, TimeUnit.SECONDS))
        .hasCauseInstanceOf(UpstreamTimeoutException.class)
        .hasMessageContaining("stopped sending the body");
    assertThat(sink.received.get()).isEqualTo(1 << 20);
  }

  @Test
  void downloadPausedForTenReadTimeoutsIsGivenUpAsAStalledDisk() throws Exception {
    CountingSink sink = streamBody(true);
    sink.paused.get(10, TimeUnit.SECONDS); // and never resumed: the disk takes nothing any more
    long start = System.nanoTime();

    assertThatThrownBy(() -> sink.complete.get(20, TimeUnit.SECONDS))
        .hasCauseInstanceOf(java.io.IOException.class)
        .hasMessageContaining("the cache disk took none of this download's bytes");
    assertThat(Duration.ofNanos(System.nanoTime() - start))
        .isGreaterThanOrEqualTo(
            READ_TIMEOUT.multipliedBy(ExchangeHandler.STALLED_DISK_TIMEOUTS - 1));
  }

  /** Asks the upstream for its blob and streams the body into a new {@link CountingSink}. */
  private CountingSink streamBody(boolean pauseAtFirstChunk) {
    UpstreamResponse resp =
        client
            .request(HttpMethod.GET, "/v2/x/y/blobs/sha256:" + "a".repeat(64), "x/y", List.of())
            .join();
    CountingSink sink = new CountingSink(pauseAtFirstChunk);
    resp.stream(sink);
    return sink;
  }

  /**
   * Counts the body; completes with its length, or with the failure; may pause at the first chunk.
   */
  private static final class CountingSink implements BodySink {
    final AtomicLong received = new AtomicLong();
    final CompletableFuture<BodyFlow> paused = new CompletableFuture<>();
    final CompletableFuture<Long> complete = new CompletableFuture<>();
    private final boolean pauseAtFirstChunk;
    private BodyFlow flow;

    CountingSink(boolean pauseAtFirstChunk) {
      this.pauseAtFirstChunk = pauseAtFirstChunk;
    }

    @Override
    public void onStart(BodyFlow f) {
      flow = f;
    }

    @Override
    public void onChunk(ByteBuf chunk) {
      received.addAndGet(chunk.readableBytes());
      if (pauseAtFirstChunk && !paused.isDone()) {
        flow.pause();
        paused.complete(flow);
      }
    }

    @Override
    public void onComplete() {
      complete.complete(received.get());
    }

    @Override
    public void onError(Throwable cause) {
      complete.completeExceptionally(cause);
    }
  }
}
