package dev.ociproxy.testing;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * One way {@link HostileRegistry} misbehaves when answering a selected request.
 *
 * <p>Lies combine (e.g. {@code CHUNKED} with {@code TRICKLE}); they are applied in this order:
 *
 * <ol>
 *   <li>{@code CLOSE_BEFORE_HEADERS}: the connection is closed right after the request is read.
 *   <li>{@code DELAY_HEADERS}: sleep before anything is written.
 *   <li>{@code STATUS}: answer that status with an OCI error body (and {@code Retry-After}),
 *       nothing else.
 *   <li>{@code REDIRECT_TO}: answer 307 to the same path and query on another registry.
 *   <li>Content lies, only when the honest answer is 200 (they also shape HEAD headers): body
 *       replacements, then byte edits, then digest-header edits.
 *   <li>Range lies ({@code IGNORE_RANGE}, {@code RANGE_START_SHIFTED}), for a blob GET with a
 *       {@code Range}.
 *   <li>Framing lies: {@code CHUNKED}, {@code CHUNKED_WRONG}, {@code CHUNKED_BAD_FRAMING}, {@code
 *       BOTH_LENGTHS}, {@code TRUNCATE}, {@code TRICKLE}, then {@code TRAILING_RESPONSE}.
 * </ol>
 *
 * Unless a lie says otherwise, {@code Docker-Content-Digest} keeps naming the honest digest, so a
 * changed body arrives under the digest the client asked for.
 */
public final class Lie {
  /** What the lie does; see the constants of {@link Lie} for the exact wire behaviour. */
  public enum Kind {
    WRONG_BODY,
    FLIP_FIRST_BYTE,
    FLIP_LAST_BYTE,
    EXTRA_BYTES,
    TRUNCATE,
    CHUNKED,
    CHUNKED_WRONG,
    CHUNKED_BAD_FRAMING,
    FALSE_DIGEST_HEADER,
    OTHER_ALGORITHM_HEADER,
    NO_DIGEST_HEADER,
    MANIFEST_BY_DIGEST_SUBSTITUTED,
    MEDIA_TYPE_MISMATCH,
    INVALID_JSON,
    OVERSIZED_MANIFEST,
    REDIRECT_TO,
    TRICKLE,
    DELAY_HEADERS,
    STATUS,
    CLOSE_BEFORE_HEADERS,
    DIGEST_HEADER_TEXT,
    TRAILING_RESPONSE,
    BOTH_LENGTHS,
    LINK_QUERY,
    RANGE_START_SHIFTED,
    IGNORE_RANGE
  }

  /** Different bytes of the same length (each byte XOR 0x5A); headers unchanged. */
  public static final Lie WRONG_BODY = new Lie(Kind.WRONG_BODY);

  /** The first body byte has its lowest bit flipped. */
  public static final Lie FLIP_FIRST_BYTE = new Lie(Kind.FLIP_FIRST_BYTE);

  /** The last body byte has its lowest bit flipped. */
  public static final Lie FLIP_LAST_BYTE = new Lie(Kind.FLIP_LAST_BYTE);

  /** The real body plus 16 spaces; Content-Length counts them. */
  public static final Lie EXTRA_BYTES = new Lie(Kind.EXTRA_BYTES);

  /**
   * Content-Length (or chunked) says the full body; half of it (rounded down) is sent, then FIN.
   */
  public static final Lie TRUNCATE = new Lie(Kind.TRUNCATE);

  /**
   * Not a lie: the honest body with {@code Transfer-Encoding: chunked}, odd chunk sizes and a chunk
   * extension.
   */
  public static final Lie CHUNKED = new Lie(Kind.CHUNKED);

  /** Well-framed chunked body whose last byte is flipped. */
  public static final Lie CHUNKED_WRONG = new Lie(Kind.CHUNKED_WRONG);

  /** Chunked headers, then a non-hex chunk-size line ({@code zz}) and a close. */
  public static final Lie CHUNKED_BAD_FRAMING = new Lie(Kind.CHUNKED_BAD_FRAMING);

  /** Honest body; {@code Docker-Content-Digest} names the sha256 of other bytes. */
  public static final Lie FALSE_DIGEST_HEADER = new Lie(Kind.FALSE_DIGEST_HEADER);

  /**
   * A {@code WRONG_BODY} body whose {@code Docker-Content-Digest} is the (true) sha512 of what is
   * sent.
   */
  public static final Lie OTHER_ALGORITHM_HEADER = new Lie(Kind.OTHER_ALGORITHM_HEADER);

  /** Honest body without {@code Docker-Content-Digest}. */
  public static final Lie NO_DIGEST_HEADER = new Lie(Kind.NO_DIGEST_HEADER);

  /**
   * Another valid image manifest ({@link HostileRegistry#substituteManifest()}) with Content-Type
   * and {@code Docker-Content-Digest} that match the substitute, not the request.
   */
  public static final Lie MANIFEST_BY_DIGEST_SUBSTITUTED =
      new Lie(Kind.MANIFEST_BY_DIGEST_SUBSTITUTED);

  /**
   * Honest body; Content-Type says image manifest when the JSON {@code mediaType} is an index (or a
   * Docker list), and index otherwise.
   */
  public static final Lie MEDIA_TYPE_MISMATCH = new Lie(Kind.MEDIA_TYPE_MISMATCH);

  /** A body that is not JSON, with a {@code Docker-Content-Digest} that truly matches it. */
  public static final Lie INVALID_JSON = new Lie(Kind.INVALID_JSON);

  /**
   * After the reply (GET or HEAD), on the same kept-alive connection and 100 ms later, a complete
   * {@code 200} carrying {@link HostileRegistry#substituteManifest()} with a true Content-Type and
   * {@code Docker-Content-Digest}: an answer to no request, waiting to be read as the next one's.
   */
  public static final Lie TRAILING_RESPONSE = new Lie(Kind.TRAILING_RESPONSE);

  /**
   * The body chunked, and a {@code Content-Length} of the body's length besides: framing two
   * parsers may read two ways (the connection stays open).
   */
  public static final Lie BOTH_LENGTHS = new Lie(Kind.BOTH_LENGTHS);

  /**
   * A blob {@code Range} is answered {@code 206} from one byte after the asked start, with a {@code
   * Content-Range} that truly says so: the rest of a body from the wrong place.
   */
  public static final Lie RANGE_START_SHIFTED = new Lie(Kind.RANGE_START_SHIFTED);

  /** Not a lie: a blob {@code Range} is ignored and the whole body sent with {@code 200}. */
  public static final Lie IGNORE_RANGE = new Lie(Kind.IGNORE_RANGE);

  /** Closes the connection right after reading the request; no status line is sent. */
  public static final Lie CLOSE_BEFORE_HEADERS = new Lie(Kind.CLOSE_BEFORE_HEADERS);

  private final Kind kind;
  private final long amount; // bytes, milliseconds or status code, by kind
  private final long retryAfterSeconds; // STATUS only; negative means no Retry-After header
  private final HostileRegistry target; // REDIRECT_TO only, else null
  private final String text; // DIGEST_HEADER_TEXT and LINK_QUERY only, else null

  private Lie(Kind kind) {
    this(kind, 0, -1, null);
  }

  private Lie(Kind kind, long amount, long retryAfterSeconds, HostileRegistry target) {
    this(kind, amount, retryAfterSeconds, target, null);
  }

  private Lie(Kind kind, long amount, long retryAfterSeconds, HostileRegistry target, String text) {
    this.kind = kind;
    this.amount = amount;
    this.retryAfterSeconds = retryAfterSeconds;
    this.target = target;
    this.text = text;
  }

  /**
   * Honest body; {@code Docker-Content-Digest} is exactly {@code value}: markup, say, for a page
   * that shows what arrived ({@code sha256:<img src=x onerror=...>} is refused as a digest header
   * mismatch).
   */
  public static Lie digestHeaderText(String value) {
    return new Lie(Kind.DIGEST_HEADER_TEXT, 0, -1, null, requireNonNull(value, "value"));
  }

  /**
   * A valid image-manifest JSON of exactly {@code bytes} bytes (padded in an annotation), streamed
   * without buffering, served as an image manifest with a true {@code Docker-Content-Digest}.
   */
  public static Lie oversizedManifest(long bytes) {
    if (bytes < 512) {
      throw new IllegalArgumentException("bytes: " + bytes + " (expected: >= 512)");
    }
    return new Lie(Kind.OVERSIZED_MANIFEST, bytes, -1, null);
  }

  /** 307 to {@code other.url()} plus the same path and query; {@code other} may lie itself. */
  public static Lie redirectTo(HostileRegistry other) {
    return new Lie(Kind.REDIRECT_TO, 0, -1, requireNonNull(other, "other"));
  }

  /**
   * A tag list's {@code Link} (only when there is a next page) gets {@code params} (e.g. {@code
   * "ns=other.example"}) inserted first in its query, before the honest {@code last} and {@code n}.
   */
  public static Lie linkQuery(String params) {
    return new Lie(Kind.LINK_QUERY, 0, -1, null, requireNonNull(params, "params"));
  }

  /** Sends the body one byte at a time, flushing and sleeping {@code perByte} after each. */
  public static Lie trickle(Duration perByte) {
    return new Lie(Kind.TRICKLE, perByte.toMillis(), -1, null);
  }

  /** Sleeps {@code delay} after reading the request, before writing the status line. */
  public static Lie delayHeaders(Duration delay) {
    return new Lie(Kind.DELAY_HEADERS, delay.toMillis(), -1, null);
  }

  /** Answers {@code code} (e.g. 500, 503) with an OCI error body instead of the content. */
  public static Lie status(int code) {
    return status(code, -1);
  }

  /** Answers {@code code} with {@code Retry-After: retryAfterSeconds} (omitted when negative). */
  public static Lie status(int code, long retryAfterSeconds) {
    if (code < 200 || code > 599) {
      throw new IllegalArgumentException("code: " + code + " (expected: 200..599)");
    }
    return new Lie(Kind.STATUS, code, retryAfterSeconds, null);
  }

  public Kind kind() {
    return kind;
  }

  long millis() {
    return amount;
  }

  long bytes() {
    return amount;
  }

  int statusCode() {
    return (int) amount;
  }

  long retryAfterSeconds() {
    return retryAfterSeconds;
  }

  HostileRegistry target() {
    return target;
  }

  String text() {
    return text;
  }

  @Override
  public String toString() {
    return switch (kind) {
      case OVERSIZED_MANIFEST -> "OVERSIZED_MANIFEST(" + amount + " bytes)";
      case TRICKLE, DELAY_HEADERS -> kind + "(" + amount + " ms)";
      case STATUS -> "STATUS(" + statusCode() + ", retryAfter=" + retryAfterSeconds() + ")";
      case REDIRECT_TO -> "REDIRECT_TO(" + target.url() + ")";
      case DIGEST_HEADER_TEXT -> "DIGEST_HEADER_TEXT(" + text + ")";
      case LINK_QUERY -> "LINK_QUERY(" + text + ")";
      default -> kind.name();
    };
  }
}
