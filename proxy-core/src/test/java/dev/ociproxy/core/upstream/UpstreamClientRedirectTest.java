package dev.ociproxy.core.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ociproxy.core.oci.RegistryException;
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
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Redirects are followed only to http(s) and only a bounded number of times. */
@ExtendWith(NoLeakedBuffers.class)
class UpstreamClientRedirectTest {
  private ServerSocket server;
  private Thread acceptor;
  private final AtomicInteger requests = new AtomicInteger();
  private volatile String location;
  private NioEventLoopGroup group;
  private UpstreamClient client;

  @BeforeEach
  void start() throws IOException {
    server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    acceptor = new Thread(this::serve, "redirecting-upstream");
    acceptor.setDaemon(true);
    acceptor.start();
    group = new NioEventLoopGroup(1);
    client =
        new UpstreamClient(
            UpstreamOptions.anonymous(
                "up.test", URI.create("http://127.0.0.1:" + server.getLocalPort())),
            new HttpTransport(group, NioSocketChannel.class));
  }

  @AfterEach
  void stop() throws IOException {
    server.close();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  /**
   * Answers every request on every connection (one thread each) with a 307 to {@link #location}.
   */
  private void serve() {
    while (!server.isClosed()) {
      try {
        Socket s = server.accept();
        Thread t = new Thread(() -> answer(s), "redirecting-connection");
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
      String line;
      while ((line = in.readLine()) != null) {
        if (!line.isEmpty()) {
          continue; // request line and headers
        }
        requests.incrementAndGet();
        out.write(
            ("HTTP/1.1 307 Temporary Redirect\r\nLocation: "
                    + location
                    + "\r\nContent-Length: 0\r\n\r\n")
                .getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
      }
    } catch (IOException e) {
      // closed by the client
    }
  }

  private Throwable failureOf(String path) {
    try {
      client.request(HttpMethod.GET, path, "x/y", List.of()).join();
    } catch (CompletionException e) {
      return e.getCause();
    }
    throw new AssertionError("the request succeeded");
  }

  @Test
  void redirectToAFileUrlIsRefusedWithoutBeingFollowed() {
    location = "file:///etc/passwd";
    Throwable t = failureOf("/v2/x/y/blobs/sha256:" + "a".repeat(64));
    assertThat(t).isInstanceOf(RegistryException.class).hasMessageContaining("refused location");
    assertThat(((RegistryException) t).status()).isEqualTo(502);
    assertThat(requests.get()).isEqualTo(1);
  }

  @Test
  void redirectLoopIsCutAfterTheBoundedNumberOfHops() {
    location = "/v2/x/y/blobs/sha256:" + "b".repeat(64);
    Throwable t = failureOf(location);
    assertThat(t).isInstanceOf(RegistryException.class).hasMessageContaining("too many");
    assertThat(requests.get()).isEqualTo(UpstreamClient.MAX_REDIRECTS + 1);
  }

  /**
   * A client for which 127.0.0.2 is an internal address and 127.0.0.1 (the upstream) is {@code
   * upstreamInternal}.
   */
  private UpstreamClient clientSeeing(boolean upstreamInternal) {
    AddressGuard guard =
        new AddressGuard(
            a ->
                a.getHostAddress().equals("127.0.0.2")
                    || upstreamInternal && a.getHostAddress().equals("127.0.0.1"));
    return new UpstreamClient(
        UpstreamOptions.anonymous(
            "up.test", URI.create("http://127.0.0.1:" + server.getLocalPort())),
        new HttpTransport(group, NioSocketChannel.class),
        new SimpleMeterRegistry(),
        RequestLimits.unlimited(),
        guard);
  }

  /** A server on 127.0.0.2 that counts the request heads it receives and answers 200. */
  private ServerSocket internalServer(AtomicInteger heads) throws IOException {
    ServerSocket internal = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.2"));
    Thread t =
        new Thread(
            () -> {
              while (!internal.isClosed()) {
                try (Socket s = internal.accept()) {
                  BufferedReader in =
                      new BufferedReader(
                          new InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1));
                  String line;
                  while ((line = in.readLine()) != null) {
                    if (line.isEmpty()) {
                      heads.incrementAndGet();
                      s.getOutputStream()
                          .write(
                              "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                                  .getBytes(StandardCharsets.ISO_8859_1));
                    }
                  }
                } catch (IOException e) {
                  // closed
                }
              }
            },
            "internal-server");
    t.setDaemon(true);
    t.start();
    return internal;
  }

  @Test
  void redirectToAnInternalAddressIsRefusedBeforeAnyRequestReachesIt() throws IOException {
    AtomicInteger heads = new AtomicInteger();
    try (ServerSocket internal = internalServer(heads)) {
      location = "http://127.0.0.2:" + internal.getLocalPort() + "/latest/meta-data/";
      UpstreamClient c = clientSeeing(false);
      assertThatThrownBy(
              () ->
                  c.request(
                          HttpMethod.GET,
                          "/v2/x/y/blobs/sha256:" + "c".repeat(64),
                          "x/y",
                          List.of())
                      .join())
          .hasRootCauseInstanceOf(RegistryException.class)
          .hasMessageContaining("internal address");
      assertThat(heads.get()).isZero();
    }
  }

  @Test
  void anUpstreamOnAnInternalAddressMayRedirectToAnotherOne() throws IOException {
    AtomicInteger heads = new AtomicInteger();
    try (ServerSocket internal = internalServer(heads)) {
      location = "http://127.0.0.2:" + internal.getLocalPort() + "/storage/blob";
      UpstreamClient c = clientSeeing(true);
      UpstreamResponse r =
          c.request(HttpMethod.GET, "/v2/x/y/blobs/sha256:" + "c".repeat(64), "x/y", List.of())
              .join();
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.aggregate(16).join()).asString().isEqualTo("ok"); // read: its buffer is let go
      assertThat(heads.get()).isEqualTo(1);
    }
  }

  @Test
  void redirectWithoutAHostIsRefused() {
    location = "http:///nohost";
    assertThatThrownBy(
            () -> client.request(HttpMethod.GET, "/v2/x/y/manifests/v1", "x/y", List.of()).join())
        .hasCauseInstanceOf(RegistryException.class);
  }
}
