package dev.ociproxy.testing;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Hand-written HTTP/1.1 line and header parsing shared by the registry and {@link RawHttpClient}.
 *
 * <p>Hand-written on purpose: a library HTTP stack would refuse to produce (or would repair) the
 * broken framing these fixtures exist to send and observe.
 */
final class HttpWire {
  static final int MAX_LINE = 16 * 1024;
  static final int MAX_HEADERS = 200;

  private HttpWire() {}

  /** Reads one CRLF- (or bare LF-) terminated line; null on EOF before any byte. */
  static String readLine(InputStream in) throws IOException {
    var buf = new ByteArrayOutputStream(128);
    int b;
    while ((b = in.read()) != -1) {
      if (b == '\n') {
        byte[] bytes = buf.toByteArray();
        int len =
            bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
        return new String(bytes, 0, len, StandardCharsets.ISO_8859_1);
      }
      if (buf.size() >= MAX_LINE) {
        throw new IOException("line longer than " + MAX_LINE + " bytes");
      }
      buf.write(b);
    }
    if (buf.size() == 0) {
      return null;
    }
    throw new EOFException("EOF inside a line: " + buf.toString(StandardCharsets.ISO_8859_1));
  }

  /** Reads header lines up to the blank line; keys keep their case, values are trimmed. */
  static Map<String, List<String>> readHeaders(InputStream in) throws IOException {
    var headers = new LinkedHashMap<String, List<String>>();
    for (int i = 0; ; i++) {
      String line = readLine(in);
      if (line == null) {
        throw new EOFException("EOF inside headers");
      }
      if (line.isEmpty()) {
        return headers;
      }
      if (i >= MAX_HEADERS) {
        throw new IOException("more than " + MAX_HEADERS + " headers");
      }
      int colon = line.indexOf(':');
      if (colon <= 0) {
        throw new IOException("malformed header line: " + line);
      }
      String name = line.substring(0, colon).trim();
      String value = line.substring(colon + 1).trim();
      List<String> values = null;
      for (var e : headers.entrySet()) {
        if (e.getKey().equalsIgnoreCase(name)) {
          values = e.getValue();
        }
      }
      if (values == null) {
        values = new ArrayList<>();
        headers.put(name, values);
      }
      values.add(value);
    }
  }

  /** Reads a request head and discards any Content-Length body; null on clean EOF. */
  static RecordedRequest readRequest(InputStream in, int connectionId) throws IOException {
    String line = readLine(in);
    while (line != null && line.isEmpty()) {
      line = readLine(in); // RFC 9112 2.2: ignore at least one empty line before a request
    }
    if (line == null) {
      return null;
    }
    String[] parts = line.split(" ");
    if (parts.length != 3 || !parts[2].startsWith("HTTP/")) {
      throw new IOException("malformed request line: " + line);
    }
    String target = parts[1];
    if (target.startsWith("http://") || target.startsWith("https://")) {
      int slash = target.indexOf('/', target.indexOf("//") + 2);
      target = slash < 0 ? "/" : target.substring(slash);
    }
    int q = target.indexOf('?');
    String path = q < 0 ? target : target.substring(0, q);
    String query = q < 0 ? "" : target.substring(q + 1);
    Map<String, List<String>> headers = readHeaders(in);
    var req = new RecordedRequest(connectionId, parts[0], path, query, parts[2], headers);
    long length = req.header("Content-Length").map(Long::parseLong).orElse(0L);
    in.skipNBytes(length);
    return req;
  }
}
