package dev.ociproxy.core.verify;

import dev.ociproxy.core.oci.Digest;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Whether an upstream's answer to {@code Range: bytes=N-} continues a body that broke off after N
 * bytes: a {@code 206} whose {@code Content-Range} starts exactly at N and, when the body's size is
 * known, ends at its last byte of that size; or a {@code 200} with the whole body, whose first N
 * bytes are then skipped. Only the framing is judged here: the bytes themselves are judged by the
 * digest of the whole body. Stateless.
 */
public final class ResumeAnswer {
  private static final Pattern CONTENT_RANGE =
      Pattern.compile("bytes (\\d{1,18})-(\\d{1,18})/(\\d{1,18}|\\*)");

  private ResumeAnswer() {}

  /**
   * How many leading bytes of the answer's body to drop: 0 for a {@code 206} from {@code offset},
   * {@code offset} for a {@code 200}.
   *
   * @param status 200 or 206 (anything else is the caller's error to report)
   * @param contentRange the answer's {@code Content-Range}, or null
   * @param contentLength the answer's {@code Content-Length}, or -1
   * @param offset N, the bytes already received
   * @param size the whole body's size when known, else -1
   * @throws VerificationException when the answer says it is not the rest from N
   */
  public static long skip(
      Digest digest,
      int status,
      @Nullable String contentRange,
      long contentLength,
      long offset,
      long size) {
    if (status == 200) {
      if (size >= 0 && contentLength >= 0 && contentLength != size) {
        throw new VerificationException(
            VerificationException.Reason.SIZE_MISMATCH,
            digest,
            "200 of " + contentLength + " bytes for the rest of a " + size + "-byte blob");
      }
      return offset;
    }
    Matcher m = contentRange == null ? null : CONTENT_RANGE.matcher(contentRange.trim());
    if (m == null || !m.matches()) {
      throw mismatch(digest, contentRange, offset);
    }
    long first = Long.parseLong(m.group(1));
    long last = Long.parseLong(m.group(2));
    String total = m.group(3);
    boolean sizeAgrees =
        size < 0 || (!total.equals("*") && Long.parseLong(total) == size && last == size - 1);
    if (first != offset || last < first || !sizeAgrees) {
      throw mismatch(digest, contentRange, offset);
    }
    return 0;
  }

  private static VerificationException mismatch(
      Digest digest, @Nullable String contentRange, long offset) {
    return new VerificationException(
        VerificationException.Reason.RANGE_MISMATCH,
        digest,
        "Content-Range "
            + (contentRange == null
                ? "(none)"
                : "'" + contentRange.substring(0, Math.min(80, contentRange.length())) + "'")
            + " for Range bytes="
            + offset
            + "-");
  }
}
