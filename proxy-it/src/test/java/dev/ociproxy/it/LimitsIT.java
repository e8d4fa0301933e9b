package dev.ociproxy.it;

import static dev.ociproxy.it.CacheAssertions.assertNotCached;
import static dev.ociproxy.it.ItFixtures.await;
import static dev.ociproxy.it.ItFixtures.random;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.it.support.ProxyProcess;
import dev.ociproxy.testing.Lie;
import dev.ociproxy.testing.RawHttpClient;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The proxy's own limits, against the real jar: connections, upstream fetches in flight, and what
 * happens to a download its last client walked away from.
 */
class LimitsIT extends PerTestHostileUpstream {
  private static final String UP = "up.test";

  private RawHttpClient.Response get(String path) throws IOException {
    try (RawHttpClient c = new RawHttpClient("127.0.0.1", proxy.port(), Duration.ofSeconds(30))) {
      return c.get(path);
    }
  }

  @Test
  void connectionsBeyondMaxConnectionsAreClosedAtOnceAndTheOthersStillWork() throws Exception {
    proxy =
        ProxyProcess.builder()
            .upstream(UP, up.url())
            .extraYaml("limits:\n  maxConnections: 4\n")
            .start();
    List<Socket> held = new ArrayList<>();
    int refused = 0;
    int answered = 0;
    try {
      for (int i = 0; i < 7; i++) {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", proxy.port()), 5_000);
        s.setSoTimeout(10_000);
        held.add(s);
      }
      // Accepts complete on several event loops, so which ones are refused may vary; and the
      // harness's own readiness probe may still hold a keep-alive connection of the four.
      for (Socket s : held) {
        int first;
        try {
          s.getOutputStream()
              .write("GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
          first = s.getInputStream().read();
        } catch (IOException e) {
          first = -1; // reset by the proxy: refused just the same
        }
        if (first == -1) {
          refused++;
        } else {
          answered++;
        }
      }
    } finally {
      for (Socket s : held) {
        s.close();
      }
    }
    assertThat(answered).as("connections served").isBetween(2, 4);
    assertThat(refused).as("connections closed without an answer").isGreaterThanOrEqualTo(3);
    await(
        "a held connection to be released",
        Duration.ofSeconds(20),
        () -> {
          try {
            return get("/v2/").status() == 200;
          } catch (IOException | RuntimeException e) {
            return false;
          }
        });
  }

  @Test
  void fetchesBeyondMaxConcurrentFetchesGet503WhileCachedContentFlows() throws Exception {
    proxy =
        ProxyProcess.builder()
            .upstream(UP, up.url())
            .extraYaml("limits:\n  maxConcurrentFetches: 1\n")
            .start();
    byte[] cachedBlob = random(5_000, 1);
    String cached = up.putBlob("limit/repo", cachedBlob);
    assertThat(get("/v2/" + UP + "/limit/repo/blobs/" + cached).body()).isEqualTo(cachedBlob);
    String slow = up.putBlob("limit/repo", random(1_000, 2));
    up.lie(slow, Lie.trickle(Duration.ofMillis(200)));
    String other = up.putBlob("limit/repo", random(1_000, 3));
    Thread slowClient =
        new Thread(
            () -> {
              try {
                get("/v2/" + UP + "/limit/repo/blobs/" + slow);
              } catch (IOException ignored) {
                // Only the slot it holds matters.
              }
            });
    slowClient.start();
    await(
        "the slow fetch to take the only slot",
        Duration.ofSeconds(30),
        () -> up.count("GET", "/v2/limit/repo/blobs/" + slow) == 1);
    RawHttpClient.Response refused = get("/v2/" + UP + "/limit/repo/blobs/" + other);
    assertThat(refused.status()).isEqualTo(503);
    assertThat(refused.bodyText()).contains("maxConcurrentFetches");
    assertThat(up.count("GET", "/v2/limit/repo/blobs/" + other)).isZero();
    assertThat(get("/v2/" + UP + "/limit/repo/blobs/" + cached).status()).isEqualTo(200);
    slowClient.interrupt();
  }

  @Test
  void abandonedDownloadStopsWhenConfiguredAndLeavesNothingBehind() throws Exception {
    proxy =
        ProxyProcess.builder()
            .upstream(UP, up.url())
            .cacheOption("finishAbandonedDownloads", "false")
            .start();
    byte[] blob = random(3_000, 4);
    String digest = up.putBlob("gone/repo", blob);
    up.lie(digest, Lie.trickle(Duration.ofMillis(20)));
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", proxy.port()), 5_000);
      s.getOutputStream()
          .write(
              ("GET /v2/" + UP + "/gone/repo/blobs/" + digest + " HTTP/1.1\r\nHost: x\r\n\r\n")
                  .getBytes(StandardCharsets.US_ASCII));
      await(
          "the download to start",
          Duration.ofSeconds(30),
          () ->
              up.requests("GET", "/v2/gone/repo/blobs/").stream()
                  .anyMatch(q -> q.bodyBytesWritten() > 100));
    } // the only client leaves
    var fetch = up.requests("GET", "/v2/gone/repo/blobs/").get(0);
    fetch.awaitDone(Duration.ofSeconds(30));
    assertThat(fetch.bodyComplete()).as("the upstream transfer was stopped").isFalse();
    assertNotCached(proxy.cacheDir(), digest);
  }

  @Test
  void abandonedDownloadFinishesIntoTheCacheByDefault() throws Exception {
    proxy = ProxyProcess.builder().upstream(UP, up.url()).start();
    byte[] blob = random(500, 5);
    String digest = up.putBlob("kept/repo", blob);
    up.lie(digest, Lie.trickle(Duration.ofMillis(5))); // 2.5 s: still running when the client goes
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", proxy.port()), 5_000);
      s.getOutputStream()
          .write(
              ("GET /v2/" + UP + "/kept/repo/blobs/" + digest + " HTTP/1.1\r\nHost: x\r\n\r\n")
                  .getBytes(StandardCharsets.US_ASCII));
      await(
          "the download to start",
          Duration.ofSeconds(30),
          () -> up.count("GET", "/v2/kept/repo/blobs/") == 1);
    }
    String hex = digest.substring(7);
    await(
        "the blob to land in the cache",
        Duration.ofSeconds(60),
        () ->
            java.nio.file.Files.exists(
                proxy
                    .cacheDir()
                    .resolve("blobs/sha256")
                    .resolve(hex.substring(0, 2))
                    .resolve(hex)));
    up.unlie(digest);
    assertThat(get("/v2/" + UP + "/kept/repo/blobs/" + digest).body()).isEqualTo(blob);
    assertThat(up.count("GET", "/v2/kept/repo/blobs/")).isEqualTo(1);
  }
}
