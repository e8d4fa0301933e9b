package dev.ociproxy.testing;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One request as {@link HostileRegistry} read it off the wire, plus what it answered.
 *
 * <p>Recorded as soon as the request head is parsed, so the response fields ({@link #status()},
 * {@link #bodyBytesWritten()}) may still change; call {@link #awaitDone} before asserting on them.
 */
public final class RecordedRequest {
  private final int connectionId;
  private final String method;
  private final String path;
  private final String query;
  private final String version;
  private final Map<String, List<String>> headers;
  private volatile int status = -1;
  private final AtomicLong bodyBytesWritten = new AtomicLong();
  private volatile boolean bodyComplete;
  private final CountDownLatch done = new CountDownLatch(1);

  RecordedRequest(
      int connectionId,
      String method,
      String path,
      String query,
      String version,
      Map<String, List<String>> headers) {
    this.connectionId = connectionId;
    this.method = method;
    this.path = path;
    this.query = query;
    this.version = version;
    var copy = new TreeMap<String, List<String>>(String.CASE_INSENSITIVE_ORDER);
    headers.forEach((k, v) -> copy.put(k, List.copyOf(v)));
    this.headers = Collections.unmodifiableMap(copy);
  }

  /**
   * The TCP connection this request came on (1, 2, … per registry); equal ids mean keep-alive
   * reuse.
   */
  public int connectionId() {
    return connectionId;
  }

  public String method() {
    return method;
  }

  /** The raw (not percent-decoded) path, e.g. {@code /v2/test/repo/blobs/sha256:…}. */
  public String path() {
    return path;
  }

  /** The raw query string without {@code ?}, or {@code ""}. */
  public String query() {
    return query;
  }

  /** Path plus {@code ?query} when there is one. */
  public String target() {
    return query.isEmpty() ? path : path + "?" + query;
  }

  public String version() {
    return version;
  }

  /** All headers; lookup is case-insensitive. */
  public Map<String, List<String>> headers() {
    return headers;
  }

  /** The first value of header {@code name} (case-insensitive). */
  public Optional<String> header(String name) {
    List<String> v = headers.get(name);
    return v == null || v.isEmpty() ? Optional.empty() : Optional.of(v.get(0));
  }

  /** All percent-decoded values of query parameter {@code name}, in order. */
  public List<String> queryParams(String name) {
    var out = new ArrayList<String>();
    if (query.isEmpty()) {
      return out;
    }
    for (String pair : query.split("&")) {
      int eq = pair.indexOf('=');
      String k = decode(eq < 0 ? pair : pair.substring(0, eq));
      if (k.equals(name)) {
        out.add(eq < 0 ? "" : decode(pair.substring(eq + 1)));
      }
    }
    return out;
  }

  /** The first value of query parameter {@code name}. */
  public Optional<String> queryParam(String name) {
    List<String> v = queryParams(name);
    return v.isEmpty() ? Optional.empty() : Optional.of(v.get(0));
  }

  /**
   * The status sent, or -1 if the registry closed before sending headers (or has not answered yet).
   */
  public int status() {
    return status;
  }

  /**
   * Body bytes handed to the kernel so far. Bytes still in socket buffers count, so after an early
   * close by the peer this is an upper bound on what the peer read (by up to the socket buffers).
   */
  public long bodyBytesWritten() {
    return bodyBytesWritten.get();
  }

  /** Whether the whole response body (as framed by the registry, lies included) was written. */
  public boolean bodyComplete() {
    return bodyComplete;
  }

  /**
   * Waits until the registry has finished (or abandoned) its response; returns false on timeout.
   */
  public boolean awaitDone(Duration timeout) {
    try {
      return done.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  void status(int s) {
    status = s;
  }

  void addBodyBytes(long n) {
    bodyBytesWritten.addAndGet(n);
  }

  void bodyComplete(boolean b) {
    bodyComplete = b;
  }

  void done() {
    done.countDown();
  }

  private static String decode(String s) {
    return URLDecoder.decode(s, StandardCharsets.UTF_8);
  }

  @Override
  public String toString() {
    return method + " " + target() + " (conn " + connectionId + ", status " + status + ")";
  }
}
