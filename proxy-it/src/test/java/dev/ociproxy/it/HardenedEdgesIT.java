package dev.ociproxy.it;

import static dev.ociproxy.it.ItFixtures.random;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ociproxy.it.support.ProcessGuard;
import dev.ociproxy.it.support.ProxyProcess;
import dev.ociproxy.testing.HostileRegistry;
import dev.ociproxy.testing.RawHttpClient;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Whatever is thrown at the listener: a request fuzzer, oversized heads and slow clients. Every
 * answer must be a well-formed HTTP response, never a 5xx for bad input, and the proxy must still
 * serve a good pull afterwards.
 */
@ExtendWith(ProcessGuard.class)
class HardenedEdgesIT {
  private static final String UP = "up.test";
  private static final Pattern STATUS_LINE = Pattern.compile("HTTP/1\\.[01] (\\d{3}) .*");

  /** Bounded so the suite stays fast on 2 cores; the seed is printed for reproduction. */
  private static final int FUZZ_ITERATIONS = 1500;

  static HostileRegistry up;
  static ProxyProcess proxy;
  static HostileRegistry.Image img;

  @BeforeAll
  static void start() {
    assumeTrue(ProxyProcess.availability().available(), ProxyProcess.availability().reason());
    up = HostileRegistry.start();
    img = up.putImage("fuzz/app", "v1", random(20_000, 1));
    proxy =
        ProxyProcess.builder()
            .upstream(UP, up.url())
            .extraYaml("limits:\n  idleTimeout: \"3s\"\n  maxHeaders: 50\n")
            .start();
  }

  @AfterAll
  static void stop() {
    if (proxy != null) {
      proxy.close();
    }
    if (up != null) {
      up.close();
    }
  }

  /**
   * Sends raw bytes on a fresh connection; returns the status, or -1 if closed without an answer.
   */
  private static int rawStatus(byte[] request) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", proxy.port()), 5_000);
      s.setSoTimeout(15_000);
      OutputStream out = s.getOutputStream();
      try {
        // No shutdownOutput(): the server would close on that end of input, before an answer
        // that waits for the upstream, and an unanswered request would pass for a dropped one.
        out.write(request);
        out.flush();
      } catch (IOException e) {
        // The server may close early on an oversized head; the answer is still readable.
      }
      InputStream in = s.getInputStream();
      ByteArrayOutputStream line = new ByteArrayOutputStream();
      int c;
      while ((c = in.read()) != -1 && c != '\n') {
        line.write(c);
      }
      String status = line.toString(StandardCharsets.ISO_8859_1).trim();
      if (status.isEmpty()) {
        return -1;
      }
      Matcher m = STATUS_LINE.matcher(status);
      assertThat(m.matches()).as("well-formed status line: %s", status).isTrue();
      return Integer.parseInt(m.group(1));
    }
  }

  private static final List<String> METHODS =
      List.of(
          "GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", "G3T",
          "get");

  private static String mutatedPath(Random r) {
    String digest = img.layerDigests().get(0);
    List<String> bases =
        List.of(
            "/v2/",
            "/v2",
            "/",
            "/v2/_catalog",
            "/v2/" + UP + "/fuzz/app/manifests/v1",
            "/v2/" + UP + "/fuzz/app/manifests/" + img.manifestDigest(),
            "/v2/" + UP + "/fuzz/app/blobs/" + digest,
            "/v2/" + UP + "/fuzz/app/tags/list",
            "/v2/fuzz/app/manifests/v1?ns=" + UP,
            "/v2/" + UP + "/fuzz/app/blobs/uploads/");
    String p = bases.get(r.nextInt(bases.size()));
    int mutations = r.nextInt(4);
    for (int i = 0; i < mutations; i++) {
      int at = p.isEmpty() ? 0 : r.nextInt(p.length());
      String insert =
          switch (r.nextInt(14)) {
            case 0 -> "..";
            case 1 -> "%2f";
            case 2 -> "//";
            case 3 -> "%00";
            case 4 -> "A";
            case 5 -> "/" + "x".repeat(r.nextInt(600));
            case 6 -> "?n=" + r.nextInt() + "&last=" + Long.toHexString(r.nextLong());
            case 7 -> "?ns=" + (r.nextBoolean() ? UP : "nope.example");
            case 8 -> "sha256:" + Long.toHexString(r.nextLong());
            case 9 -> "é";
            case 10 -> "\\";
            case 11 -> ":";
            case 12 -> "@";
            default -> String.valueOf((char) (33 + r.nextInt(94)));
          };
      p = p.substring(0, at) + insert + p.substring(at);
    }
    return p;
  }

  private static String header(Random r) {
    return switch (r.nextInt(12)) {
      case 0 ->
          "Range: bytes="
              + (r.nextInt(50_000) - 100)
              + "-"
              + (r.nextBoolean() ? r.nextInt(50_000) : "");
      case 1 -> "Range: bytes=-" + r.nextInt(30_000);
      case 2 -> "Range: bytes=0-1,5-9";
      case 3 -> "Range: lines=" + r.nextInt();
      case 4 ->
          "Accept: "
              + (r.nextBoolean()
                  ? "application/vnd.oci.image.index.v1+json"
                  : "*/*;q=" + r.nextInt());
      case 5 ->
          "Authorization: "
              + (r.nextBoolean() ? "Basic " : "Bearer ")
              + Long.toHexString(r.nextLong());
      case 6 -> "Content-Length: " + (r.nextBoolean() ? "0" : "-1");
      case 7 -> "Transfer-Encoding: chunked";
      case 8 -> "X-" + r.nextInt(1000) + ": " + "v".repeat(r.nextInt(200));
      case 9 -> "Connection: " + (r.nextBoolean() ? "close" : "keep-alive");
      case 10 -> "Expect: 100-continue";
      default -> "Host: " + Long.toHexString(r.nextLong());
    };
  }

  @Test
  void everyFuzzedRequestGetsAWellFormedNon5xxAnswerAndTheProxyStillServes() throws IOException {
    long seed = System.nanoTime();
    Random r = new Random(seed);
    System.out.println("fuzz seed " + seed);
    for (int i = 0; i < FUZZ_ITERATIONS; i++) {
      StringBuilder req = new StringBuilder();
      req.append(METHODS.get(r.nextInt(METHODS.size()))).append(' ').append(mutatedPath(r));
      req.append(r.nextInt(20) == 0 ? " HTTP/9.9" : " HTTP/1.1").append("\r\n");
      req.append("Host: 127.0.0.1\r\n");
      int headers = r.nextInt(4);
      for (int h = 0; h < headers; h++) {
        req.append(header(r)).append("\r\n");
      }
      req.append("\r\n");
      if (r.nextInt(10) == 0) {
        req.append("0\r\n\r\n");
      }
      String sent = req.toString();
      int status = rawStatus(sent.getBytes(StandardCharsets.UTF_8));
      // A malformed request (a broken percent-escape, say) is answered too, never just dropped.
      assertThat(status).as("seed %d, request %s", seed, sent).isBetween(200, 499);
    }
    assertGoodPull();
  }

  private static void assertGoodPull() throws IOException {
    try (RawHttpClient c = new RawHttpClient("127.0.0.1", proxy.port(), Duration.ofSeconds(30))) {
      RawHttpClient.Response m = c.get("/v2/" + UP + "/fuzz/app/manifests/v1");
      assertThat(m.status()).isEqualTo(200);
      assertThat(m.body()).isEqualTo(img.manifest());
      RawHttpClient.Response b =
          c.get("/v2/" + UP + "/fuzz/app/blobs/" + img.layerDigests().get(0));
      assertThat(b.status()).isEqualTo(200);
      assertThat(CacheAssertions.sha256(b.body())).isEqualTo(img.layerDigests().get(0));
    }
  }

  @Test
  void oversizedRequestLineHeadersAndHeaderCountAreRefusedWith4xx() throws IOException {
    String longLine =
        "GET /v2/" + UP + "/" + "a/".repeat(6000) + "b/manifests/v1 HTTP/1.1\r\nHost: x\r\n\r\n";
    assertThat(rawStatus(longLine.getBytes(StandardCharsets.US_ASCII))).isIn(414, 400, -1);
    String bigHeader = "GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Big: " + "y".repeat(40_000) + "\r\n\r\n";
    assertThat(rawStatus(bigHeader.getBytes(StandardCharsets.US_ASCII))).isIn(431, 400, -1);
    StringBuilder many = new StringBuilder("GET /v2/ HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 80; i++) {
      many.append("X-H").append(i).append(": v\r\n");
    }
    many.append("\r\n");
    assertThat(rawStatus(many.toString().getBytes(StandardCharsets.US_ASCII))).isEqualTo(431);
    assertGoodPull();
  }

  @Test
  void slowlorisClientIsDisconnectedAfterTheIdleTimeout() throws Exception {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", proxy.port()), 5_000);
      s.setSoTimeout(500);
      OutputStream out = s.getOutputStream();
      out.write("GET /v2/ HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII));
      long start = System.nanoTime();
      boolean closed = false;
      // Trickle one header byte every 500 ms; the deadline (3 s) is for the whole head.
      while (Duration.ofNanos(System.nanoTime() - start).compareTo(Duration.ofSeconds(30)) < 0) {
        try {
          out.write('X');
          out.flush();
          if (s.getInputStream().read() == -1) {
            closed = true;
            break;
          }
        } catch (SocketTimeoutException e) {
          continue;
        } catch (IOException e) {
          closed = true;
          break;
        }
      }
      assertThat(closed).as("closed by the proxy").isTrue();
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(20));
    }
    assertGoodPull();
  }

  @Test
  void clientThatStopsReadingABlobDoesNotHoldUpOthers() throws Exception {
    String digest = up.putBlob("fuzz/big", random(8_000_000, 3));
    try (Socket stalled = new Socket()) {
      stalled.setReceiveBufferSize(4096);
      stalled.connect(new InetSocketAddress("127.0.0.1", proxy.port()), 5_000);
      stalled
          .getOutputStream()
          .write(
              ("GET /v2/" + UP + "/fuzz/big/blobs/" + digest + " HTTP/1.1\r\nHost: x\r\n\r\n")
                  .getBytes(StandardCharsets.US_ASCII));
      // Never read. Another client gets the same blob whole, and quickly.
      long t0 = System.nanoTime();
      try (RawHttpClient c = new RawHttpClient("127.0.0.1", proxy.port(), Duration.ofSeconds(60))) {
        RawHttpClient.Response r = c.get("/v2/" + UP + "/fuzz/big/blobs/" + digest);
        assertThat(r.status()).isEqualTo(200);
        assertThat(CacheAssertions.sha256(r.body())).isEqualTo(digest);
      }
      assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(30));
    }
  }
}
