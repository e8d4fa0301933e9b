package dev.ociproxy.server.warmup;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.ociproxy.core.oci.Algorithm;
import dev.ociproxy.core.oci.Digest;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Just enough of the read API for generated images, on loopback (the JDK's own HTTP server, so the
 * proxy's upstream client is exercised against another implementation than its own). A blob's bytes
 * are its seed followed by a fixed random pattern, generated as they are sent: no blob is held
 * whole, however large.
 */
final class SyntheticRegistry implements AutoCloseable {
  static final String REPO = "warm-up/app";
  static final String MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json";
  private static final int PATTERN = 1 << 20;

  private final byte[] pattern = new byte[PATTERN];
  private final Map<String, Blob> blobs = new ConcurrentHashMap<>();
  private final Map<String, Image> images = new ConcurrentHashMap<>(); // by tag and by digest
  private final HttpServer server;

  /** A blob: {@code seed} as 8 bytes, then the pattern, cycled, up to {@code size} bytes. */
  record Blob(String digest, long seed, long size) {}

  /** A manifest of a config blob and layers, under a tag. */
  record Image(String tag, String digest, byte[] manifest, List<Blob> layers) {}

  SyntheticRegistry() throws IOException {
    new Random(1).nextBytes(pattern);
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/v2/", this::answer);
    server.start();
  }

  String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  /** A new image under {@code tag}; every blob's seed is new, so every digest is too. */
  Image image(String tag, long firstSeed, List<Long> layerSizes) {
    Blob config = blob(firstSeed, 64);
    List<Blob> layers = new ArrayList<>();
    StringBuilder json =
        new StringBuilder("{\"schemaVersion\":2,\"mediaType\":\"")
            .append(MANIFEST_TYPE)
            .append("\",\"config\":")
            .append(descriptor("application/vnd.oci.image.config.v1+json", config))
            .append(",\"layers\":[");
    for (int i = 0; i < layerSizes.size(); i++) {
      Blob layer = blob(firstSeed + 1 + i, layerSizes.get(i));
      layers.add(layer);
      json.append(i == 0 ? "" : ",")
          .append(descriptor("application/vnd.oci.image.layer.v1.tar", layer));
    }
    byte[] manifest = json.append("]}").toString().getBytes(StandardCharsets.UTF_8);
    Image image = new Image(tag, Digest.sha256(manifest).toString(), manifest, layers);
    images.put(tag, image);
    images.put(image.digest(), image);
    return image;
  }

  /** Forgets an image's blobs (the proxy has them by now, or never will). */
  void forget(Image image) {
    image.layers().forEach(b -> blobs.remove(b.digest()));
  }

  private static String descriptor(String type, Blob b) {
    return "{\"mediaType\":\""
        + type
        + "\",\"digest\":\""
        + b.digest()
        + "\",\"size\":"
        + b.size()
        + "}";
  }

  private Blob blob(long seed, long size) {
    MessageDigest sha = Algorithm.SHA256.newMessageDigest();
    write(seed, size, (buf, off, len) -> sha.update(buf, off, len));
    Blob b = new Blob(Digest.finish(Algorithm.SHA256, sha).toString(), seed, size);
    blobs.put(b.digest(), b);
    return b;
  }

  private interface Sink {
    void accept(byte[] buf, int off, int len) throws IOException;
  }

  private void write(long seed, long size, Sink sink) {
    try {
      byte[] head = ByteBuffer.allocate(8).putLong(seed).array();
      int first = (int) Math.min(8, size);
      sink.accept(head, 0, first);
      for (long sent = first; sent < size; ) {
        int n = (int) Math.min(PATTERN, size - sent);
        sink.accept(pattern, 0, n);
        sent += n;
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private void answer(HttpExchange ex) throws IOException {
    try (ex) {
      String path = ex.getRequestURI().getPath();
      boolean head = ex.getRequestMethod().equals("HEAD");
      String prefix = "/v2/" + REPO + "/";
      if (path.equals("/v2/")) {
        send(ex, head, "application/json", "{}".getBytes(StandardCharsets.UTF_8));
      } else if (path.startsWith(prefix + "manifests/")) {
        Image image = images.get(path.substring(path.lastIndexOf('/') + 1));
        if (image == null) {
          ex.sendResponseHeaders(404, -1);
          return;
        }
        ex.getResponseHeaders().set("Docker-Content-Digest", image.digest());
        send(ex, head, MANIFEST_TYPE, image.manifest());
      } else if (path.startsWith(prefix + "blobs/")) {
        Blob b = blobs.get(path.substring(path.lastIndexOf('/') + 1));
        if (b == null) {
          ex.sendResponseHeaders(404, -1);
          return;
        }
        ex.getResponseHeaders().set("Content-Type", "application/octet-stream");
        ex.getResponseHeaders().set("Docker-Content-Digest", b.digest());
        ex.sendResponseHeaders(200, head ? -1 : b.size());
        if (!head) {
          try (OutputStream out = ex.getResponseBody()) {
            write(b.seed(), b.size(), out::write);
          }
        }
      } else if (path.equals(prefix + "tags/list")) {
        String json = "{\"name\":\"" + REPO + "\",\"tags\":[\"v1\"]}";
        send(ex, head, "application/json", json.getBytes(StandardCharsets.UTF_8));
      } else {
        ex.sendResponseHeaders(404, -1);
      }
    } catch (RuntimeException e) {
      // A client (the proxy) that hung up mid-body: nothing to answer any more.
    }
  }

  private static void send(HttpExchange ex, boolean head, String type, byte[] body)
      throws IOException {
    ex.getResponseHeaders().set("Content-Type", type);
    ex.sendResponseHeaders(200, head ? -1 : body.length);
    if (!head) {
      try (OutputStream out = ex.getResponseBody()) {
        out.write(body);
      }
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
