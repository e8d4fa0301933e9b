package dev.ociproxy.server;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.ociproxy.server.config.ConfigLoader;
import dev.ociproxy.server.config.ProxyConfig;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;

/**
 * {@code --training-run}: the proxy starts on loopback in front of a small in-process registry,
 * pulls one image through itself cold and then warm (manifest by tag and digest, blobs with HEAD
 * and Range, a tag list, metrics and health, a malformed request), and exits. Run under {@code
 * -XX:ArchiveClassesAtExit} (JDK 17+) or {@code -XX:AOTCacheOutput} (JDK 25+) it records the
 * classes (and, on 25, the profiles) the proxy needs to answer, so a later start with that archive
 * reaches its first answer in about half the time: the container image does this at build time.
 */
final class TrainingRun {
  private static final String REPO = "training/app";
  private static final String MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json";

  private final Map<String, byte[]> blobs = new LinkedHashMap<>();
  private byte[] manifest = new byte[0];
  private String manifestDigest = "";

  private TrainingRun() {}

  static void run(MeterRegistry meters) throws Exception {
    new TrainingRun().train(meters);
  }

  private void train(MeterRegistry meters) throws Exception {
    Path dir = Files.createTempDirectory("registry-proxy-training");
    HttpServer upstream =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    ProxyServer proxy = null;
    try {
      image();
      upstream.createContext("/v2/", this::answer);
      upstream.start();
      String yaml =
          "listen: \"127.0.0.1:0\"\n"
              + "cache:\n  dir: \""
              + dir.resolve("cache")
              + "\"\nupstreams:\n  - name: \"training.local\"\n    url: \"http://127.0.0.1:"
              + upstream.getAddress().getPort()
              + "\"\n    default: true\n";
      ProxyConfig config = ConfigLoader.withSystemEnv().parse(yaml);
      proxy = new ProxyServer(config, meters);
      int port = proxy.start().getPort();
      for (int round = 0; round < 3; round++) { // cold once, then warm
        pull("http://127.0.0.1:" + port);
      }
    } finally {
      if (proxy != null) {
        proxy.shutdown(Duration.ofSeconds(2));
      }
      upstream.stop(0);
      deleteTree(dir);
    }
  }

  /** A config blob, a small and a 2 MiB layer (above the direct-write threshold), a manifest. */
  private void image() throws NoSuchAlgorithmException {
    Random random = new Random(1);
    byte[] config =
        "{\"architecture\":\"amd64\",\"os\":\"linux\"}".getBytes(StandardCharsets.UTF_8);
    byte[] small = new byte[16 * 1024];
    byte[] big = new byte[2 * 1024 * 1024];
    random.nextBytes(small);
    random.nextBytes(big);
    String c = put(config);
    String s = put(small);
    String b = put(big);
    String json =
        "{\"schemaVersion\":2,\"mediaType\":\""
            + MANIFEST_TYPE
            + "\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\""
            + c
            + "\",\"size\":"
            + config.length
            + "},\"layers\":["
            + layer(s, small.length)
            + ","
            + layer(b, big.length)
            + "]}";
    manifest = json.getBytes(StandardCharsets.UTF_8);
    manifestDigest = digest(manifest);
  }

  private static String layer(String digest, int size) {
    return "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\""
        + digest
        + "\",\"size\":"
        + size
        + "}";
  }

  private String put(byte[] bytes) throws NoSuchAlgorithmException {
    String d = digest(bytes);
    blobs.put(d, bytes);
    return d;
  }

  private static String digest(byte[] bytes) throws NoSuchAlgorithmException {
    return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }

  /** The in-process upstream: just enough of the read API for one image. */
  private void answer(HttpExchange ex) throws IOException {
    String path = ex.getRequestURI().getPath();
    byte[] body = null;
    String type = "application/json";
    if (path.equals("/v2/")) {
      body = "{}".getBytes(StandardCharsets.UTF_8);
    } else if (path.startsWith("/v2/" + REPO + "/manifests/")) {
      body = manifest;
      type = MANIFEST_TYPE;
      ex.getResponseHeaders().set("Docker-Content-Digest", manifestDigest);
    } else if (path.startsWith("/v2/" + REPO + "/blobs/")) {
      body = blobs.get(path.substring(path.lastIndexOf('/') + 1));
      type = "application/octet-stream";
    } else if (path.equals("/v2/" + REPO + "/tags/list")) {
      body = ("{\"name\":\"" + REPO + "\",\"tags\":[\"v1\"]}").getBytes(StandardCharsets.UTF_8);
    }
    try (ex) {
      if (body == null) {
        ex.sendResponseHeaders(404, -1);
        return;
      }
      ex.getResponseHeaders().set("Content-Type", type);
      boolean head = ex.getRequestMethod().equals("HEAD");
      ex.sendResponseHeaders(200, head ? -1 : body.length);
      if (!head) {
        try (OutputStream out = ex.getResponseBody()) {
          out.write(body);
        }
      }
    }
  }

  /** One pull through the proxy; any other answer than the expected one fails the run. */
  private void pull(String base) throws IOException {
    String v2 = base + "/v2/training.local/" + REPO;
    expect(get(base + "/v2/", "GET", null), 200, -1, "/v2/");
    expect(get(v2 + "/manifests/v1", "GET", null), 200, manifest.length, "manifest by tag");
    expect(get(v2 + "/manifests/v1", "HEAD", null), 200, 0, "manifest HEAD");
    expect(
        get(v2 + "/manifests/" + manifestDigest, "GET", null), 200, manifest.length, "by digest");
    for (Map.Entry<String, byte[]> b : blobs.entrySet()) {
      String url = v2 + "/blobs/" + b.getKey();
      expect(get(url, "HEAD", null), 200, 0, "blob HEAD");
      expect(get(url, "GET", null), 200, b.getValue().length, "blob");
      expect(get(url, "GET", "bytes=0-99"), 206, Math.min(100, b.getValue().length), "blob range");
    }
    expect(get(v2 + "/tags/list", "GET", null), 200, -1, "tag list");
    malformed(base, "/v2/training.local/" + REPO + "/manifests/%zz");
    expect(get(base + "/metrics", "GET", null), 200, -1, "/metrics");
    expect(get(base + "/readyz", "GET", null), 200, -1, "/readyz");
  }

  /** {@code size} -1: any body. */
  private static void expect(long[] got, int status, long size, String what) {
    if (got[0] != status || (size >= 0 && got[1] != size)) {
      throw new IllegalStateException(
          "training run: "
              + what
              + ": got "
              + got[0]
              + " with "
              + got[1]
              + " bytes, want "
              + status);
    }
  }

  /** Status and body bytes. */
  private static long[] get(String url, String method, @Nullable String range) throws IOException {
    HttpURLConnection c = (HttpURLConnection) URI.create(url).toURL().openConnection();
    c.setRequestMethod(method);
    c.setRequestProperty("Accept", MANIFEST_TYPE);
    if (range != null) {
      c.setRequestProperty("Range", range);
    }
    int status = c.getResponseCode();
    try (InputStream in = status < 400 ? c.getInputStream() : c.getErrorStream()) {
      return new long[] {status, in == null ? 0 : in.transferTo(OutputStream.nullOutputStream())};
    }
  }

  /** A request no URL class would send: the error path for bad percent-encoding. */
  private static void malformed(String base, String path) throws IOException {
    URI u = URI.create(base);
    try (Socket s = new Socket(u.getHost(), u.getPort())) {
      s.getOutputStream()
          .write(
              ("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                  .getBytes(StandardCharsets.US_ASCII));
      s.getInputStream().transferTo(OutputStream.nullOutputStream());
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> all = Files.walk(dir)) {
      all.sorted(Comparator.reverseOrder())
          .forEach(
              p -> {
                try {
                  Files.deleteIfExists(p);
                } catch (IOException e) {
                  throw new UncheckedIOException(e);
                }
              });
    }
  }
}
