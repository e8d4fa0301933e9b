package dev.ociproxy.testing;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * A response before framing: status, headers and body, mutable so lies can edit it in place.
 *
 * <p>Content-Length and Transfer-Encoding are never stored here; {@link ReplyWriter} derives them
 * from the body and the framing lies.
 */
final class Reply {
  int status;
  final Map<String, String> headers = new LinkedHashMap<>();
  byte[] body = new byte[0];

  /** When set, replaces {@link #body}: a body too large to keep in memory. */
  Streamed streamed;

  /** Whether a {@code Range} request header is honoured (blob GETs only, as distribution does). */
  boolean rangeable;

  /** A body of known length produced on demand. */
  record Streamed(long length, Supplier<InputStream> open) {}

  Reply(int status) {
    this.status = status;
  }

  static Reply json(int status, byte[] json) {
    Reply r = new Reply(status);
    r.headers.put("Content-Type", "application/json");
    r.body = json;
    return r;
  }

  /** An OCI distribution-spec error body. */
  static Reply error(int status, String code, String message, String detail) {
    var e = new LinkedHashMap<String, Object>();
    e.put("code", code);
    e.put("message", message);
    e.put("detail", detail);
    return json(status, OciJson.write(Map.of("errors", List.of(e))));
  }

  Reply header(String name, String value) {
    headers.put(name, value);
    return this;
  }

  long length() {
    return streamed != null ? streamed.length() : body.length;
  }

  InputStream open() {
    return streamed != null ? streamed.open().get() : new ByteArrayInputStream(body);
  }

  static String reason(int status) {
    return switch (status) {
      case 200 -> "OK";
      case 206 -> "Partial Content";
      case 307 -> "Temporary Redirect";
      case 400 -> "Bad Request";
      case 401 -> "Unauthorized";
      case 404 -> "Not Found";
      case 405 -> "Method Not Allowed";
      case 416 -> "Range Not Satisfiable";
      case 429 -> "Too Many Requests";
      case 500 -> "Internal Server Error";
      case 502 -> "Bad Gateway";
      case 503 -> "Service Unavailable";
      case 504 -> "Gateway Timeout";
      default -> "Status " + status;
    };
  }
}
