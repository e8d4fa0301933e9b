package dev.ociproxy.server.warmup;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * A keep-alive HTTP/1.1 client of a few dozen lines: a request, its status, its body counted and
 * dropped. The warm-up's own requests should cost as little as possible beside the proxy's work,
 * which is what they are there to compile.
 */
final class LoopbackClient implements AutoCloseable {
  private final int port;
  private final byte[] sink = new byte[64 * 1024];
  private @Nullable Conn conn;
  private long bodyBytes;

  private record Conn(Socket socket, InputStream in, OutputStream out) {}

  LoopbackClient(int port) {
    this.port = port;
  }

  /** The status of {@code method path}; the body is read whole (see {@link #bodyBytes}). */
  int send(String method, String path, @Nullable String range) throws IOException {
    Conn c = conn;
    if (c == null) {
      Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
      s.setTcpNoDelay(true);
      c = new Conn(s, new BufferedInputStream(s.getInputStream(), 16 * 1024), s.getOutputStream());
      conn = c;
    }
    String request =
        method
            + " "
            + path
            + " HTTP/1.1\r\nHost: warm-up\r\nAccept: "
            + SyntheticRegistry.MANIFEST_TYPE
            + "\r\n"
            + (range == null ? "" : "Range: " + range + "\r\n")
            + "\r\n";
    try {
      c.out().write(request.getBytes(StandardCharsets.US_ASCII));
      return read(c.in(), method.equals("HEAD"));
    } catch (IOException e) {
      close();
      throw e;
    }
  }

  long bodyBytes() {
    return bodyBytes;
  }

  private int read(InputStream in, boolean head) throws IOException {
    String status = line(in);
    int code = Integer.parseInt(status.substring(9, 12));
    long length = -1;
    boolean chunked = false;
    boolean close = false;
    for (String h = line(in); !h.isEmpty(); h = line(in)) {
      String lower = h.toLowerCase(Locale.ROOT);
      if (lower.startsWith("content-length:")) {
        length = Long.parseLong(lower.substring(15).trim());
      } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
        chunked = true;
      } else if (lower.startsWith("connection:") && lower.contains("close")) {
        close = true;
      }
    }
    bodyBytes = 0;
    if (head || code == 204 || code == 304) {
      // no body
    } else if (chunked) {
      for (long n = Long.parseLong(line(in).trim(), 16);
          n > 0;
          n = Long.parseLong(line(in).trim(), 16)) {
        skip(in, n);
        line(in);
      }
      line(in);
    } else if (length >= 0) {
      skip(in, length);
    } else {
      close = true;
      for (int r = in.read(sink); r >= 0; r = in.read(sink)) {
        bodyBytes += r;
      }
    }
    if (close) {
      close();
    }
    return code;
  }

  private void skip(InputStream in, long n) throws IOException {
    for (long left = n; left > 0; ) {
      int r = in.read(sink, 0, (int) Math.min(sink.length, left));
      if (r < 0) {
        throw new EOFException("body cut after " + (n - left) + " of " + n + " bytes");
      }
      left -= r;
      bodyBytes += r;
    }
  }

  private String line(InputStream in) throws IOException {
    StringBuilder b = new StringBuilder();
    for (int c = in.read(); c != '\n'; c = in.read()) {
      if (c < 0) {
        throw new EOFException("connection closed");
      }
      if (c != '\r') {
        b.append((char) c);
      }
    }
    return b.toString();
  }

  @Override
  public void close() {
    Conn c = conn;
    conn = null;
    if (c != null) {
      try {
        c.socket().close();
      } catch (IOException e) {
        // closing a loopback socket: nothing to report
      }
    }
  }
}
