package dev.ociproxy.server.warmup;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import org.jspecify.annotations.Nullable;

/**
 * A keep-alive HTTP/1.1 client of a few dozen lines: a request, its status, its body counted and
 * dropped. The warm-up's own requests should cost as little as possible beside the proxy's work,
 * which is what they are there to compile.
 */
final class LoopbackClient implements AutoCloseable {
  private final int port;
  private final boolean connectionPerRequest;
  // Shaped like a Go client's (containerd, skopeo, Docker): their headers take the same branches.
  private static final String REQUEST_HEADERS =
      " HTTP/1.1\r\nHost: warm-up\r\nUser-Agent: registry-proxy-warm-up\r\nAccept: "
          + SyntheticRegistry.MANIFEST_TYPE
          + "\r\nAccept-Encoding: gzip\r\n";

  // Reused: the warm-up's own garbage would only make the heap grow beside the proxy's.
  private final byte[] sink = new byte[64 * 1024];
  private final StringBuilder text = new StringBuilder(512);
  private byte[] request = new byte[512];
  private @Nullable Conn conn;
  private long bodyBytes;

  private record Conn(Socket socket, InputStream in, OutputStream out) {}

  LoopbackClient(int port) {
    this(port, false);
  }

  /**
   * @param connectionPerRequest each request on a new connection with {@code Connection: close}, as
   *     skopeo and containerd fetch most layers of an image (measured: a new connection for 55 to
   *     66 of a 64-layer pull's requests)
   */
  LoopbackClient(int port, boolean connectionPerRequest) {
    this.port = port;
    this.connectionPerRequest = connectionPerRequest;
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
    text.setLength(0);
    text.append(method).append(' ').append(path).append(REQUEST_HEADERS);
    if (range != null) {
      text.append("Range: ").append(range).append("\r\n");
    }
    if (connectionPerRequest) {
      text.append("Connection: close\r\n");
    }
    text.append("\r\n");
    int n = text.length();
    if (request.length < n) {
      request = new byte[n];
    }
    for (int i = 0; i < n; i++) {
      request[i] = (byte) text.charAt(i);
    }
    try {
      c.out().write(request, 0, n);
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
    line(in);
    int code = Integer.parseInt(text, 9, 12, 10);
    long length = -1;
    boolean chunked = false;
    boolean close = false;
    for (line(in); text.length() > 0; line(in)) {
      if (header("content-length:")) {
        length = Long.parseLong(text.substring(15).trim());
      } else if (header("transfer-encoding:") && text.indexOf("chunked") > 0) {
        chunked = true;
      } else if (header("connection:") && text.indexOf("close") > 0) {
        close = true;
      }
    }
    bodyBytes = 0;
    if (head || code == 204 || code == 304) {
      // no body
    } else if (chunked) {
      for (long n = chunkSize(in); n > 0; n = chunkSize(in)) {
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
    if (close || connectionPerRequest) {
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

  /** Reads a line into {@link #text}, without its CRLF. */
  private void line(InputStream in) throws IOException {
    text.setLength(0);
    for (int c = in.read(); c != '\n'; c = in.read()) {
      if (c < 0) {
        throw new EOFException("connection closed");
      }
      if (c != '\r') {
        text.append((char) c);
      }
    }
  }

  private boolean header(String lowerName) {
    int n = lowerName.length();
    if (text.length() < n) {
      return false;
    }
    for (int i = 0; i < n; i++) {
      if (Character.toLowerCase(text.charAt(i)) != lowerName.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  private long chunkSize(InputStream in) throws IOException {
    line(in);
    int end = text.indexOf(";");
    return Long.parseLong(text.substring(0, end < 0 ? text.length() : end).trim(), 16);
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
