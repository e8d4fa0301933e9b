package dev.ociproxy.testing;

import dev.ociproxy.testing.Lie.Kind;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Frames a {@link Reply} onto the socket, honouring {@code Range} and applying the framing lies
 * ({@code CHUNKED*}, {@code TRUNCATE}, {@code TRICKLE}).
 *
 * <p>Writes go straight to the socket stream (no buffering) so that {@link
 * RecordedRequest#bodyBytesWritten()} counts bytes the kernel accepted.
 */
final class ReplyWriter {
  private static final int BUFFER = 16 * 1024;
  private static final long[] UNSATISFIABLE = new long[0];

  private ReplyWriter() {}

  /**
   * Writes the reply and returns whether the connection may serve another request.
   *
   * @param keepAlive whether the request allows reuse of the connection
   * @param trickleMillis milliseconds between body bytes, or a negative value for full speed
   */
  static boolean write(
      Reply r,
      RecordedRequest req,
      Set<Kind> kinds,
      long trickleMillis,
      boolean keepAlive,
      OutputStream out)
      throws IOException {
    boolean get = req.method().equals("GET");
    long start = 0;
    long len = r.length();
    boolean honourRange = !kinds.contains(Kind.IGNORE_RANGE);
    if (r.rangeable && r.status == 200 && get && honourRange && req.header("Range").isPresent()) {
      long total = len;
      long[] sel = parseRange(req.header("Range").get(), total);
      if (sel == UNSATISFIABLE) {
        r.status = 416;
        r.streamed = null;
        r.body = new byte[0];
        r.headers.put("Content-Range", "bytes */" + total);
        len = 0;
      } else if (sel != null) {
        if (kinds.contains(Kind.RANGE_START_SHIFTED) && sel[0] < sel[1]) {
          sel[0]++;
        }
        r.status = 206;
        r.headers.put("Content-Range", "bytes " + sel[0] + "-" + sel[1] + "/" + total);
        start = sel[0];
        len = sel[1] - sel[0] + 1;
      }
    }
    boolean bothLengths = kinds.contains(Kind.BOTH_LENGTHS);
    boolean chunked =
        kinds.contains(Kind.CHUNKED)
            || kinds.contains(Kind.CHUNKED_WRONG)
            || kinds.contains(Kind.CHUNKED_BAD_FRAMING)
            || bothLengths;
    boolean truncate = kinds.contains(Kind.TRUNCATE);
    boolean badFraming = kinds.contains(Kind.CHUNKED_BAD_FRAMING);
    boolean close = !keepAlive || truncate || badFraming;

    var head =
        new StringBuilder("HTTP/1.1 ")
            .append(r.status)
            .append(' ')
            .append(Reply.reason(r.status))
            .append("\r\n");
    r.headers.putIfAbsent("Docker-Distribution-API-Version", "registry/2.0");
    for (Map.Entry<String, String> h : r.headers.entrySet()) {
      head.append(h.getKey()).append(": ").append(h.getValue()).append("\r\n");
    }
    if (!chunked || bothLengths) {
      head.append("Content-Length: ").append(len).append("\r\n");
    }
    if (chunked) {
      head.append("Transfer-Encoding: chunked\r\n");
    }
    if (close) {
      head.append("Connection: close\r\n");
    }
    head.append("\r\n");
    out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
    out.flush();
    req.status(r.status);

    if (req.method().equals("HEAD") || r.status == 204 || r.status == 304) {
      req.bodyComplete(true);
      trail(kinds, close, out);
      return !close;
    }
    if (badFraming) {
      out.write("zz\r\nthis is not a chunk size\r\n".getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      return false;
    }
    long limit = truncate ? len / 2 : len;
    try (InputStream in = r.open()) {
      in.skipNBytes(start);
      copy(in, limit, chunked, trickleMillis, out, req);
    }
    if (truncate) {
      return false;
    }
    if (chunked) {
      out.write("0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
    }
    out.flush();
    req.bodyComplete(true);
    trail(kinds, close, out);
    return !close;
  }

  /** {@code TRAILING_RESPONSE}: a forged answer to no request, sent while the connection idles. */
  private static void trail(Set<Kind> kinds, boolean close, OutputStream out) throws IOException {
    if (close || !kinds.contains(Kind.TRAILING_RESPONSE)) {
      return;
    }
    sleep(100);
    byte[] forged = ContentLies.substituteManifest();
    String head =
        "HTTP/1.1 200 OK\r\nContent-Type: "
            + OciJson.IMAGE_MANIFEST
            + "\r\nDocker-Content-Digest: "
            + OciJson.sha256(forged)
            + "\r\nDocker-Distribution-API-Version: registry/2.0\r\nContent-Length: "
            + forged.length
            + "\r\n\r\n";
    out.write(head.getBytes(StandardCharsets.ISO_8859_1));
    out.write(forged);
    out.flush();
  }

  /**
   * Copies {@code limit} bytes. Chunked bodies start with a 1-byte chunk carrying a chunk extension
   * and a 7-byte chunk: legal framing that a careless parser gets wrong.
   */
  private static void copy(
      InputStream in,
      long limit,
      boolean chunked,
      long trickleMillis,
      OutputStream out,
      RecordedRequest req)
      throws IOException {
    byte[] buf = new byte[BUFFER];
    long sent = 0;
    for (int chunk = 0; sent < limit; chunk++) {
      int want = trickleMillis >= 0 ? 1 : (int) Math.min(BUFFER, limit - sent);
      if (chunked && trickleMillis < 0) {
        want = Math.min(want, chunk == 0 ? 1 : chunk == 1 ? 7 : BUFFER);
      }
      int n = in.readNBytes(buf, 0, want);
      if (n <= 0) {
        throw new IOException("body source ended after " + sent + " of " + limit + " bytes");
      }
      if (chunked) {
        var frame = new ByteArrayOutputStream(n + 32);
        String size =
            Integer.toHexString(n) + (chunk == 0 ? ";hostile=chunk-extension" : "") + "\r\n";
        frame.write(size.getBytes(StandardCharsets.ISO_8859_1));
        frame.write(buf, 0, n);
        frame.write('\r');
        frame.write('\n');
        frame.writeTo(out);
      } else {
        out.write(buf, 0, n);
      }
      sent += n;
      req.addBodyBytes(n);
      if (trickleMillis >= 0) {
        out.flush();
        sleep(trickleMillis);
      }
    }
    out.flush();
  }

  /**
   * Parses a single {@code bytes=a-b}, {@code bytes=a-} or {@code bytes=-n} range. Returns null
   * when the header is to be ignored (multiple ranges or bad syntax, as RFC 9110 allows), or {@link
   * #UNSATISFIABLE}.
   */
  static long[] parseRange(String header, long total) {
    String h = header.trim();
    if (!h.startsWith("bytes=") || h.contains(",")) {
      return null;
    }
    String spec = h.substring(6).trim();
    int dash = spec.indexOf('-');
    if (dash < 0) {
      return null;
    }
    try {
      String a = spec.substring(0, dash).trim();
      String b = spec.substring(dash + 1).trim();
      if (a.isEmpty()) {
        long suffix = Long.parseLong(b);
        if (suffix <= 0 || total == 0) {
          return UNSATISFIABLE;
        }
        return new long[] {Math.max(0, total - suffix), total - 1};
      }
      long first = Long.parseLong(a);
      long last = b.isEmpty() ? Long.MAX_VALUE : Long.parseLong(b);
      if (first < 0 || last < first) {
        return null;
      }
      if (first >= total) {
        return UNSATISFIABLE;
      }
      return new long[] {first, Math.min(last, total - 1)};
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /** Sleeps {@code millis}, or less if {@code release} opens first. */
  static void pause(CountDownLatch release, long millis) throws InterruptedIOException {
    try {
      release.await(millis, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while lying slowly");
    }
  }

  static void sleep(long millis) throws InterruptedIOException {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while lying slowly");
    }
  }
}
