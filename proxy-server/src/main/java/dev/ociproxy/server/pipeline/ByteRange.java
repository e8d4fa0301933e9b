package dev.ociproxy.server.pipeline;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/** One satisfiable byte range of a blob of known size, as asked for by a {@code Range} header. */
record ByteRange(long start, long endInclusive) {
  private static final Pattern SINGLE = Pattern.compile("bytes=(\\d{0,19})-(\\d{0,19})");

  long length() {
    return endInclusive - start + 1;
  }

  /** Thrown for a well-formed range that lies outside the blob: a 416. */
  static final class Unsatisfiable extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Unsatisfiable() {
      super(null, null, false, false);
    }
  }

  /**
   * Parses a single range; returns null when the whole blob should be sent (no header, several
   * ranges, or syntax we ignore as RFC 9110 allows).
   */
  static @Nullable ByteRange parse(@Nullable String header, long size) {
    if (header == null) {
      return null;
    }
    Matcher m = SINGLE.matcher(header.trim());
    if (!m.matches()) {
      return null;
    }
    String a = m.group(1);
    String b = m.group(2);
    if (a.isEmpty() && b.isEmpty()) {
      return null;
    }
    if (a.isEmpty()) {
      long suffix = number(b);
      if (suffix == 0 || size == 0) {
        throw new Unsatisfiable();
      }
      return new ByteRange(Math.max(0, size - suffix), size - 1);
    }
    long start = number(a);
    long end = b.isEmpty() ? size - 1 : Math.min(number(b), size - 1);
    if (!b.isEmpty() && number(b) < start) {
      return null; // invalid: ignore the header
    }
    if (start >= size) {
      throw new Unsatisfiable();
    }
    return new ByteRange(start, end);
  }

  /** Up to 19 digits; those above {@link Long#MAX_VALUE} are beyond any blob, so they saturate. */
  private static long number(String digits) {
    try {
      return Long.parseLong(digits);
    } catch (NumberFormatException e) {
      return Long.MAX_VALUE;
    }
  }
}
