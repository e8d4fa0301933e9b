package dev.ociproxy.core.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ociproxy.testing.NoLeakedBuffers;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
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
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A pooled upstream connection carries another request only after a response framed one way and
 * read to its end, with nothing after it: bytes an upstream sends besides its answer are never read
 * as the answer to a later request (response smuggling).
 */
@ExtendWith(NoLeakedBuffers.class)
class PooledConnectionReuseTest {
  private static final String FORGED = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged";

  /**
   * What the upstream writes for the n-th request (from 1) and, after a pause, on the same
   * connection.
   */
  private record Answer(String now, String later) {}

  private interface Script {
    Answer answer(int n, String requestLine);
  }

  private ServerSocket server;
  private final AtomicInteger requests = new AtomicInteger();
  private final AtomicInteger connections = new AtomicInteger();
  private volatile Script script;
  private NioEventLoopGroup group;
  private SimpleMeterRegistry meters;
  private UpstreamClient client;

  @BeforeEach
  void start() throws IOException {
    server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread t = new Thread(this::serve, "smuggling-upstream");
    t.setDaemon(true);
    t.start();
    group = new NioEventLoopGroup(1);
    meters = new SimpleMeterRegistry();
    client =
        new UpstreamClient(
            UpstreamOptions.anonymous(
                "up.test", URI.create("http://127.0.0.1:" + server.getLocalPort())),
            new HttpTransport(group, NioSocketChannel.class),
            meters);
  }

  @AfterEach
  void stop() throws IOException {
    server.close();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  private void serve() {
    while (!server.isClosed()) {
      try {
        Socket s = server.accept();
        connections.incrementAndGet();
        Thread t = new Thread(() -> answer(s), "smuggling-connection");
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        return; // closed by the test
      }
    }
  }

  private void answer(Socket s) {
    try (s) {
      BufferedReader in =
          new BufferedReader(
              new InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1));
      OutputStream out = s.getOutputStream();
      String requestLine;
      while ((requestLine = in.readLine()) != null) {
        String line;
        while ((line = in.readLine()) != null && !line.isEmpty()) {
          // headers
        }
        Answer a = script.answer(requests.incrementAndGet(), requestLine);
        out.write(a.now().getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
        if (a.later() != null) {
          Thread.sleep(150);
          out.write(a.later().getBytes(StandardCharsets.ISO_8859_1));
          out.flush();
        }
      }
    } catch (IOException | InterruptedException e) {
      // closed by the client or the test
    }
  }

  private static String ok(String body) {
    return "HTTP/1.1 200 OK\r\nContent-Length: " + body.length() + "\r\n\r\n" + body;
  }

  private String get(String path) {
    return fetch(HttpMethod.GET, path);
  }

  private String fetch(HttpMethod method, String path) {
    UpstreamResponse r =
        client.request(method, path, "a/b", List.of()).orTimeout(10, TimeUnit.SECONDS).join();
    byte[] body = r.aggregate(1 << 20).orTimeout(10, TimeUnit.SECONDS).join();
    return r.status() + " " + new String(body, StandardCharsets.ISO_8859_1);
  }

  private double refusals(String reason) {
    var c = meters.find("registry_proxy_upstream_framing_refusals").tag("reason", reason).counter();
    return c == null ? 0 : c.count();
  }

  /** The first request's answer is followed by {@code after} (in the same write, or later). */
  private void assertSecondRequestGetsItsOwnAnswer(
      HttpMethod first, String firstHead, String after, boolean later) throws InterruptedException {
    script =
        (n, line) ->
            n == 1
                ? new Answer(firstHead + (later ? "" : after), later ? after : null)
                : new Answer(ok("answer-" + n), null);
    fetch(first, "/v2/a/b/manifests/v1");
    Thread.sleep(400); // the smuggled bytes are on their way, or here, while the connection idles
    assertThat(get("/v2/other/repo/manifests/v2")).isEqualTo("200 answer-2");
    assertThat(connections.get()).as("the first connection was not reused").isEqualTo(2);
    assertThat(refusals("bytes_after_response")).isEqualTo(1);
  }

  @Test
  void aForgedResponseSentWhileTheConnectionIdlesIsNeverReadAsTheNextAnswer() throws Exception {
    assertSecondRequestGetsItsOwnAnswer(HttpMethod.GET, ok("honest"), FORGED, true);
  }

  @Test
  void aPartialForgedResponseBufferedBehindTheAnswerClosesTheConnection() throws Exception {
    // Half a response head arrives with the answer (the decoder holds it), the rest later.
    assertSecondRequestGetsItsOwnAnswer(
        HttpMethod.GET, ok("honest") + FORGED.substring(0, 20), FORGED.substring(20), true);
  }

  @Test
  void aWholeForgedResponseInTheSameSegmentClosesTheConnection() throws Exception {
    assertSecondRequestGetsItsOwnAnswer(HttpMethod.GET, ok("honest"), FORGED, false);
  }

  @Test
  void aBodyAfterAHeadResponseIsNeverReadAsTheNextAnswer() throws Exception {
    assertSecondRequestGetsItsOwnAnswer(
        HttpMethod.HEAD, "HTTP/1.1 200 OK\r\nContent-Length: 79\r\n\r\n", FORGED, true);
  }

  @Test
  void aBodyOnA204IsNeverReadAsTheNextAnswer() throws Exception {
    assertSecondRequestGetsItsOwnAnswer(
        HttpMethod.GET, "HTTP/1.1 204 No Content\r\n\r\n", FORGED, true);
  }

  @Test
  void aResponseWithContentLengthAndChunkedIsReadByItsChunksAndItsConnectionClosed() {
    script =
        (n, line) ->
            n == 1
                ? new Answer(
                    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + "6\r\nhonest\r\n0\r\n\r\n",
                    null)
                : new Answer(ok("answer-" + n), null);
    assertThat(get("/v2/a/b/manifests/v1")).isEqualTo("200 honest");
    assertThat(get("/v2/a/b/manifests/v2")).isEqualTo("200 answer-2");
    assertThat(connections.get()).isEqualTo(2);
    assertThat(refusals("ambiguous_framing")).isEqualTo(1);
  }

  @Test
  void anHttp10ResponseWithTwoContentLengthsIsNeverFollowedOnItsConnection() throws Exception {
    script =
        (n, line) ->
            n == 1
                ? new Answer(
                    "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 6\r\nContent-Length: 85\r\n\r\n"
                        + "honest",
                    FORGED)
                : new Answer(ok("answer-" + n), null);
    get("/v2/a/b/manifests/v1");
    Thread.sleep(400);
    // Netty reads such a response by its first length; only HTTP/1.1 connections are ever reused.
    assertThat(get("/v2/a/b/manifests/v2")).isEqualTo("200 answer-2");
    assertThat(connections.get()).isEqualTo(2);
  }

  @Test
  void twoDifferentContentLengthsFailTheRequestInsteadOfAnsweringIt() {
    script =
        (n, line) ->
            new Answer(
                "HTTP/1.1 200 OK\r\nContent-Length: 6\r\nContent-Length: 85\r\n\r\nhonest" + FORGED,
                null);
    assertThatThrownBy(() -> get("/v2/a/b/manifests/v1"))
        .hasRootCauseInstanceOf(UpstreamUnavailableException.class)
        .hasMessageContaining("malformed");
    assertThat(refusals("malformed")).isPositive();
  }

  @Test
  void anUnsolicited1xxFailsTheRequestInsteadOfBeingSkipped() {
    script = (n, line) -> new Answer("HTTP/1.1 100 Continue\r\n\r\n" + FORGED, null);
    assertThatThrownBy(() -> get("/v2/a/b/manifests/v1"))
        .hasRootCauseInstanceOf(UpstreamUnavailableException.class)
        .hasMessageContaining("unsolicited 100");
    assertThat(refusals("unsolicited_1xx")).isPositive();
  }

  @Test
  void anHonestKeepAliveConnectionIsReused() throws Exception {
    script =
        (n, line) ->
            new Answer(
                line.startsWith("HEAD")
                    ? "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n"
                    : ok("answer-" + n),
                null);
    assertThat(get("/v2/a/b/manifests/v1")).isEqualTo("200 answer-1");
    Thread.sleep(200);
    assertThat(fetch(HttpMethod.HEAD, "/v2/a/b/manifests/v1")).isEqualTo("200 ");
    assertThat(get("/v2/a/b/manifests/v1")).isEqualTo("200 answer-3");
    assertThat(connections.get()).isEqualTo(1);
    assertThat(meters.find("registry_proxy_upstream_framing_refusals").counters()).isEmpty();
  }
}
