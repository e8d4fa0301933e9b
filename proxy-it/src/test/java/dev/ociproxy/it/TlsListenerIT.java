package dev.ociproxy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ociproxy.it.support.Http;
import dev.ociproxy.it.support.ManagedProcess;
import dev.ociproxy.it.support.Ports;
import dev.ociproxy.it.support.ProcessGuard;
import dev.ociproxy.it.support.ProxyProcess;
import dev.ociproxy.it.support.TempDirs;
import dev.ociproxy.testing.HostileRegistry;
import dev.ociproxy.testing.TestCertificates;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import javax.net.ssl.SSLContext;
import org.awaitility.core.ConditionTimeoutException;
import org.awaitility.core.TerminalFailureException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The real jar with {@code tls:} on its listener and a certificate made for the test: pulls over
 * https (a streamed miss and a cached hit, whole and ranged, take the non-zero-copy paths), plain
 * http is not answered, and a renewed certificate is picked up without a restart.
 */
@ExtendWith(ProcessGuard.class)
class TlsListenerIT {
  private static final String UP = "up.test";

  Path dir;
  HostileRegistry up;
  ManagedProcess proxy;
  int port;
  TestCertificates.Pair first;
  Path cert;
  Path key;

  @BeforeEach
  void start() throws IOException {
    assumeTrue(ProxyProcess.availability().available(), ProxyProcess.availability().reason());
    assumeTrue(TestCertificates.opensslAvailable(), "openssl not installed");
    dir = TempDirs.create("tls");
    first = TestCertificates.create(dir, "first", TestCertificates.KeyFormat.PKCS8_RSA);
    cert = dir.resolve("tls.crt");
    key = dir.resolve("tls.key");
    Files.copy(first.cert(), cert);
    Files.copy(first.key(), key);
    up = HostileRegistry.start();
    port = Ports.free();
    Path config = dir.resolve("proxy.yaml");
    Files.writeString(
        config,
        "listen: \"127.0.0.1:"
            + port
            + "\"\n"
            + "cache:\n  dir: \""
            + dir.resolve("cache")
            + "\"\n"
            + "upstreams:\n  - name: "
            + UP
            + "\n    url: \""
            + up.url()
            + "\"\n    default: true\n"
            + "tls:\n  cert: \""
            + cert
            + "\"\n  key: \""
            + key
            + "\"\n  reloadInterval: 1s\n");
    proxy =
        ManagedProcess.start(
            "proxy-tls:" + port,
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m",
                "-jar",
                System.getProperty("proxy.jar"),
                "--config",
                config.toString()),
            Map.of(),
            TempDirs.logFile("proxy-tls"));
    awaitHttps(first.cert(), Duration.ofSeconds(90));
  }

  @AfterEach
  void stop() {
    if (proxy != null) {
      proxy.stop();
    }
    if (up != null) {
      up.close();
    }
    if (dir != null) {
      TempDirs.deleteRecursively(dir);
    }
  }

  private String https(String path) {
    return "https://127.0.0.1:" + port + path;
  }

  private static HttpClient client(Path trusted) {
    SSLContext ssl = TestCertificates.trusting(trusted);
    return HttpClient.newBuilder()
        .sslContext(ssl)
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5))
        .build();
  }

  private HttpResponse<byte[]> get(HttpClient c, String path, String... headers)
      throws IOException, InterruptedException {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(https(path))).timeout(Duration.ofSeconds(60));
    if (headers.length > 0) {
      b.headers(headers);
    }
    return c.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  /** Polls /healthz over https, trusting only {@code trusted}, until it answers 200. */
  private void awaitHttps(Path trusted, Duration timeout) {
    try {
      await("an https answer trusting " + trusted)
          .atMost(timeout)
          .pollInterval(Duration.ofMillis(200))
          .ignoreExceptionsInstanceOf(IOException.class)
          .failFast("proxy exited", () -> !proxy.isAlive())
          .until(() -> get(client(trusted), "/healthz").statusCode() == 200);
    } catch (ConditionTimeoutException | TerminalFailureException e) {
      throw new IllegalStateException(e.getMessage() + "\n" + proxy.describe(), e);
    }
  }

  private static String sha256(byte[] b) throws Exception {
    return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }

  @Test
  void pullOverHttps_servesManifestStreamedMissCachedHitAndRange() throws Exception {
    byte[] layer = new byte[3_000_000];
    new Random(7).nextBytes(layer);
    HostileRegistry.Image img = up.putImage("tls/repo", "v1", layer);
    String layerDigest = img.layerDigests().get(0);
    HttpClient c = client(first.cert());

    HttpResponse<byte[]> manifest =
        get(c, "/v2/" + UP + "/tls/repo/manifests/v1", "Accept", Http.ACCEPT_MANIFESTS);
    assertThat(manifest.statusCode()).isEqualTo(200);
    assertThat(manifest.body()).isEqualTo(img.manifest());

    HttpResponse<byte[]> miss = get(c, "/v2/" + UP + "/tls/repo/blobs/" + layerDigest);
    assertThat(miss.statusCode()).isEqualTo(200);
    assertThat(sha256(miss.body())).isEqualTo(layerDigest);

    CacheAssertions.assertCached(dir.resolve("cache"), "blobs", layerDigest);
    HttpResponse<byte[]> hit = get(c, "/v2/" + UP + "/tls/repo/blobs/" + layerDigest);
    assertThat(hit.statusCode()).isEqualTo(200);
    assertThat(sha256(hit.body())).isEqualTo(layerDigest);
    assertThat(up.count("GET", "/v2/tls/repo/blobs/"))
        .as("the second pull came from the cache")
        .isEqualTo(1);

    HttpResponse<byte[]> range =
        get(c, "/v2/" + UP + "/tls/repo/blobs/" + layerDigest, "Range", "bytes=1000000-1999999");
    assertThat(range.statusCode()).isEqualTo(206);
    assertThat(range.body()).isEqualTo(Arrays.copyOfRange(layer, 1_000_000, 2_000_000));
  }

  @Test
  void plainHttpToTheTlsListener_getsNoHttpAnswer() {
    assertThat(Http.status("http://127.0.0.1:" + port + "/v2/")).isEqualTo(-1);
    assertThat(proxy.isAlive()).isTrue();
  }

  @Test
  void renewedCertificate_isServedToNewConnections_withoutARestart() throws Exception {
    TestCertificates.Pair second =
        TestCertificates.create(dir, "second", TestCertificates.KeyFormat.SEC1_EC);
    // Write to temporary names and rename over, as certificate tools and Kubernetes secrets do.
    Files.copy(second.key(), dir.resolve("tls.key.new"));
    Files.copy(second.cert(), dir.resolve("tls.crt.new"));
    FileTime later = FileTime.fromMillis(System.currentTimeMillis() + 5_000);
    Files.setLastModifiedTime(dir.resolve("tls.key.new"), later);
    Files.setLastModifiedTime(dir.resolve("tls.crt.new"), later);
    Files.move(
        dir.resolve("tls.key.new"),
        key,
        StandardCopyOption.REPLACE_EXISTING,
        StandardCopyOption.ATOMIC_MOVE);
    Files.move(
        dir.resolve("tls.crt.new"),
        cert,
        StandardCopyOption.REPLACE_EXISTING,
        StandardCopyOption.ATOMIC_MOVE);

    awaitHttps(second.cert(), Duration.ofSeconds(30));
    assertThat(get(client(second.cert()), "/v2/").statusCode()).isEqualTo(200);
    try {
      get(client(first.cert()), "/v2/");
      throw new AssertionError("a client trusting only the old certificate still connected");
    } catch (javax.net.ssl.SSLHandshakeException expected) {
      // the old certificate is no longer presented
    }
    assertThat(proxy.logTail(20_000)).contains("reloaded TLS certificate");
  }
}
