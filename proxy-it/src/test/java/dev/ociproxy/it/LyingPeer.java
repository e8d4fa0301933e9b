package dev.ociproxy.it;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A replica that holds the cluster secret and lies: it answers every health check, and every blob
 * asked of it on the peer path with a 200, the requested digest in {@code Docker-Content-Digest}
 * and as many bytes as {@code length} of something else. It checks no MAC: it is the compromised
 * member, not a stranger.
 */
final class LyingPeer implements AutoCloseable {
  private final ServerSocket server;
  private final Thread loop;
  private final int length;
  final AtomicInteger blobRequests = new AtomicInteger();

  LyingPeer(int length) throws IOException {
    this.length = length;
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    this.loop = new Thread(this::serve, "lying-peer");
    loop.setDaemon(true);
    loop.start();
  }

  String hostPort() {
    return "127.0.0.1:" + server.getLocalPort();
  }

  private void serve() {
    while (!server.isClosed()) {
      try (Socket s = server.accept()) {
        answer(s);
      } catch (IOException e) {
        // closed, or a client that hung up: next one
      }
    }
  }

  private void answer(Socket s) throws IOException {
    BufferedReader in =
        new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.ISO_8859_1));
    String requestLine = in.readLine();
    for (String h = in.readLine(); h != null && !h.isEmpty(); h = in.readLine()) {
      // headers are not looked at
    }
    String target = requestLine == null ? "" : requestLine.split(" ")[1];
    OutputStream out = s.getOutputStream();
    if (!target.contains("/blobs/")) {
      out.write(ok(0, null));
      return;
    }
    blobRequests.incrementAndGet();
    out.write(ok(length, target.substring(target.lastIndexOf('/') + 1)));
    byte[] wrong = ItFixtures.random(length, 999);
    out.write(wrong);
    out.flush();
  }

  private static byte[] ok(long length, String digest) {
    return ("HTTP/1.1 200 OK\r\nContent-Length: "
            + length
            + "\r\n"
            + (digest == null ? "" : "Docker-Content-Digest: " + digest + "\r\n")
            + "Connection: close\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII);
  }

  @Override
  public void close() throws IOException {
    server.close();
  }
}
