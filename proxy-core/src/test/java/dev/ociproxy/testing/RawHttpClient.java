package dev.ociproxy.testing;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * A minimal HTTP/1.1 client over one plain socket that reports framing exactly as received: whether
 * a body was complete, chunked, or cut short, and whether the server then closed.
 *
 * <p>For asserting wire behaviour (of {@link HostileRegistry}, or of the proxy facing one) that
 * {@code java.net.http.HttpClient} would hide behind an exception or a silent retry.
 */
public final class RawHttpClient implements AutoCloseable {
  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;
  private final String host;

  /** A response as framed on the wire; {@code problem} says why it is incomplete, else "". */
  public record Response(
      int status,
      Map<String, List<String>> headers,
      byte[] body,
      boolean chunked,
      boolean complete,
      String problem) {
    /** The first value of a header (case-insensitive). */
    public Optional<String> header(String name) {
      List<String> v = headers.get(name);
      return v == null || v.isEmpty() ? Optional.empty() : Optional.of(v.get(0));
    }

    public String bodyText() {
      return new String(body, StandardCharsets.UTF_8);
    }
  }

  /** Connects to {@code baseUrl} ({@code http://host:port}); reads time out after 5 s. */
  public static RawHttpClient connect(String baseUrl) {
    URI u = URI.create(baseUrl);
    return new RawHttpClient(u.getHost(), u.getPort(), Duration.ofSeconds(5));
  }

  public RawHttpClient(String host, int port, Duration readTimeout) {
    try {
      socket = new Socket();
      socket.connect(new InetSocketAddress(host, port), 5_000);
      socket.setSoTimeout((int) readTimeout.toMillis());
      in = new BufferedInputStream(socket.getInputStream());
      out = socket.getOutputStream();
      this.host = host + ":" + port;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot connect to " + host + ":" + port, e);
    }
  }

  /** Sends {@code GET target} with extra {@code "Name: value"} headers and reads the response. */
  public Response get(String target, String... headers) throws IOException {
    return exchange("GET", target, headers);
  }

  public Response head(String target, String... headers) throws IOException {
    return exchange("HEAD", target, headers);
  }

  /** Sends a request without a body and reads the response to it. */
  public Response exchange(String method, String target, String... headers) throws IOException {
    send(method, target, headers);
    return read(method);
  }

  /** Sends a request without a body (so several can be pipelined before reading). */
  public void send(String method, String target, String... headers) throws IOException {
    var sb = new StringBuilder(method).append(' ').append(target).append(" HTTP/1.1\r\n");
    sb.append("Host: ").append(host).append("\r\n");
    for (String h : headers) {
      sb.append(h).append("\r\n");
    }
    sb.append("\r\n");
    out.write(sb.toString().getBytes(StandardCharsets.ISO_8859_1));
    out.flush();
  }

  /** Reads one response to a request made with {@code method}. */
  public Response read(String method) throws IOException {
    String statusLine = HttpWire.readLine(in);
    if (statusLine == null) {
      throw new java.io.EOFException("connection closed before a status line");
    }
    int status = Integer.parseInt(statusLine.split(" ")[1]);
    var headers = new TreeMap<String, List<String>>(String.CASE_INSENSITIVE_ORDER);
    headers.putAll(HttpWire.readHeaders(in));
    var body = new ByteArrayOutputStream();
    boolean chunked =
        headers.getOrDefault("Transfer-Encoding", List.of()).stream()
            .anyMatch(v -> v.equalsIgnoreCase("chunked"));
    if (method.equals("HEAD") || status / 100 == 1 || status == 204 || status == 304) {
      return new Response(status, headers, new byte[0], chunked, true, "");
    }
    String problem;
    try {
      if (chunked) {
        problem = readChunked(body);
      } else if (headers.containsKey("Content-Length")) {
        long len = Long.parseLong(headers.get("Content-Length").get(0));
        problem = copy(len, body) < len ? "EOF after " + body.size() + " of " + len + " bytes" : "";
      } else {
        in.transferTo(body);
        problem = "";
      }
    } catch (SocketTimeoutException e) {
      problem = "read timed out after " + body.size() + " body bytes";
    } catch (IOException e) {
      problem = e.toString();
    }
    return new Response(status, headers, body.toByteArray(), chunked, problem.isEmpty(), problem);
  }

  private String readChunked(ByteArrayOutputStream body) throws IOException {
    while (true) {
      String line = HttpWire.readLine(in);
      if (line == null) {
        return "EOF where a chunk size was expected";
      }
      String hex = line.contains(";") ? line.substring(0, line.indexOf(';')) : line;
      long size;
      try {
        size = Long.parseLong(hex.trim(), 16);
      } catch (NumberFormatException e) {
        return "bad chunk size line: " + line;
      }
      if (size == 0) {
        for (String t = HttpWire.readLine(in);
            t != null && !t.isEmpty();
            t = HttpWire.readLine(in)) {
          // trailers are ignored
        }
        return "";
      }
      if (copy(size, body) < size) {
        return "EOF inside a chunk after " + body.size() + " body bytes";
      }
      String crlf = HttpWire.readLine(in);
      if (crlf == null || !crlf.isEmpty()) {
        return "missing CRLF after chunk data";
      }
    }
  }

  private long copy(long n, ByteArrayOutputStream body) throws IOException {
    byte[] buf = new byte[16 * 1024];
    long done = 0;
    while (done < n) {
      int r = in.read(buf, 0, (int) Math.min(buf.length, n - done));
      if (r < 0) {
        break;
      }
      body.write(buf, 0, r);
      done += r;
    }
    return done;
  }

  /**
   * Whether the server closes the connection (EOF or reset) within {@code wait}; bytes that arrive
   * meanwhile (e.g. the rest of a malformed body) are read and discarded.
   */
  public boolean serverClosed(Duration wait) {
    long deadline = System.nanoTime() + wait.toNanos();
    byte[] sink = new byte[8192];
    try {
      while (true) {
        long left = (deadline - System.nanoTime()) / 1_000_000;
        if (left <= 0) {
          return false;
        }
        socket.setSoTimeout((int) left);
        if (in.read(sink) < 0) {
          return true;
        }
      }
    } catch (SocketTimeoutException e) {
      return false;
    } catch (IOException e) {
      return true;
    }
  }

  /** The raw socket, e.g. to read part of a body and then close. */
  public Socket socket() {
    return socket;
  }

  /** The buffered input stream the responses are read from. */
  public InputStream input() {
    return in;
  }

  @Override
  public void close() {
    try {
      socket.close();
    } catch (IOException ignored) {
      // best effort
    }
  }
}
