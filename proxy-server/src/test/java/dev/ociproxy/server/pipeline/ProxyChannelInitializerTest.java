package dev.ociproxy.server.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.server.auth.AccessPolicy;
import dev.ociproxy.server.config.ProxyConfig;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The assembled client pipeline on a loopback port; the upstream is a closed port. */
class ProxyChannelInitializerTest {
  private static final Pattern STATUS = Pattern.compile("HTTP/1\\.1 (\\d{3}) ");
  private static final Pattern LENGTH = Pattern.compile("(?i)content-length: (\\d+)");

  @TempDir Path cache;
  private TestMirrors mirrors;
  private NioEventLoopGroup group;
  private Channel server;

  @BeforeEach
  void startServer() {
    mirrors = new TestMirrors(cache);
    // Port 9 (discard) is closed on loopback here, so the manifest fetch fails fast but
    // asynchronously.
    Upstream example = mirrors.upstream("registry.example.com", "http://127.0.0.1:9");
    group = new NioEventLoopGroup(1);
    server =
        new ServerBootstrap()
            .group(group)
            .channel(NioServerSocketChannel.class)
            .childHandler(
                new ProxyChannelInitializer(
                    ProxyConfig.Limits.defaults(),
                    Map.of("registry.example.com", example),
                    example,
                    null,
                    AccessPolicy.open()))
            .bind("127.0.0.1", 0)
            .syncUninterruptibly()
            .channel();
  }

  @AfterEach
  void stopServer() {
    server.close().syncUninterruptibly();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    mirrors.close();
  }

  @Test
  void pipelinedRequestsAreAnsweredInRequestOrder() throws IOException {
    List<Integer> statuses =
        exchange(
            "GET /v2/registry.example.com/a/manifests/v1 HTTP/1.1\r\nHost: proxy\r\n\r\n"
                + "GET /v2/ HTTP/1.1\r\nHost: proxy\r\n\r\n"
                + "GET /v2/registry.example.com/b/manifests/v1 HTTP/1.1\r\nHost: proxy\r\n\r\n"
                + "GET /v2/A/manifests/v1 HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\n\r\n");

    // The upstream failures may be 502 (refused) or 503 (upstream marked down); the order is the
    // point.
    assertThat(statuses).hasSize(4);
    assertThat(statuses.get(0)).isBetween(502, 503);
    assertThat(statuses.get(1)).isEqualTo(200);
    assertThat(statuses.get(2)).isBetween(502, 503);
    assertThat(statuses.get(3)).isEqualTo(400);
  }

  @Test
  void apiVersionCheckIsAnsweredOverTheAssembledPipeline() throws IOException {
    assertThat(exchange("GET /v2/ HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\n\r\n"))
        .containsExactly(200);
  }

  @Test
  void anHttp10ClientAskingForKeepAliveIsToldSoAndItsConnectionServesTheNextRequest()
      throws IOException {
    InetSocketAddress address = (InetSocketAddress) server.localAddress();
    try (Socket s = new Socket(address.getAddress(), address.getPort())) {
      s.setSoTimeout(10_000);
      InputStream in = s.getInputStream();
      s.getOutputStream()
          .write(
              "GET /v2/ HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                  .getBytes(StandardCharsets.US_ASCII));
      String first = oneResponse(in);
      assertThat(first).startsWith("HTTP/1.1 200 ").containsIgnoringCase("connection: keep-alive");

      // Still open: a plain HTTP/1.0 request is answered, then the server closes.
      s.getOutputStream().write("GET /v2/ HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      String second = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
      assertThat(statuses(second)).containsExactly(200);
      assertThat(second).doesNotContainIgnoringCase("keep-alive");
    }
  }

  /**
   * Reads one response (head and Content-Length body) without waiting for the connection to end.
   */
  private static String oneResponse(InputStream in) throws IOException {
    ByteArrayOutputStream got = new ByteArrayOutputStream();
    while (true) {
      int b = in.read();
      assertThat(b).as("connection closed before the response ended: %s", got).isNotNegative();
      got.write(b);
      String text = got.toString(StandardCharsets.US_ASCII);
      int headEnd = text.indexOf("\r\n\r\n");
      if (headEnd >= 0) {
        Matcher length = LENGTH.matcher(text.substring(0, headEnd));
        int want = headEnd + 4 + (length.find() ? Integer.parseInt(length.group(1)) : 0);
        if (text.length() >= want) {
          return text;
        }
      }
    }
  }

  /** Sends raw bytes in one write, reads until the server closes, returns the response statuses. */
  private List<Integer> exchange(String requests) throws IOException {
    InetSocketAddress address = (InetSocketAddress) server.localAddress();
    try (Socket s = new Socket(address.getAddress(), address.getPort())) {
      s.setSoTimeout(10_000);
      s.getOutputStream().write(requests.getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      InputStream in = s.getInputStream();
      byte[] buf = new byte[8192];
      for (int n; (n = in.read(buf)) > 0; ) {
        all.write(buf, 0, n);
      }
      return statuses(all.toString(StandardCharsets.US_ASCII));
    }
  }

  private static List<Integer> statuses(String raw) {
    List<Integer> out = new ArrayList<>();
    int i = 0;
    while (i < raw.length()) {
      int headEnd = raw.indexOf("\r\n\r\n", i);
      String head = raw.substring(i, headEnd);
      Matcher status = STATUS.matcher(head);
      assertThat(status.lookingAt()).as("status line in %s", head).isTrue();
      out.add(Integer.parseInt(status.group(1)));
      Matcher length = LENGTH.matcher(head);
      i = headEnd + 4 + (length.find() ? Integer.parseInt(length.group(1)) : 0);
    }
    return out;
  }
}
