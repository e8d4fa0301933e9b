package dev.ociproxy.server.admin.page;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import org.jspecify.annotations.Nullable;

/**
 * Writes the status page's HTML. Every value goes through {@link #text} or an attribute method,
 * which escape it: repository names, tags, refusal details and upstream errors come from clients
 * and upstreams, and a hostile upstream must not be able to script the operator's browser. Only the
 * page's own constant markup goes through {@link #raw}. Not thread-safe; one per rendering.
 */
final class Html {
  private static final DateTimeFormatter TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'").withZone(ZoneOffset.UTC);

  private final StringBuilder out = new StringBuilder(16 * 1024);

  /** Escapes {@code & < > " '}: safe in text and in quoted attribute values. */
  static String escape(String s) {
    StringBuilder b = null;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      String r =
          switch (c) {
            case '&' -> "&amp;";
            case '<' -> "&lt;";
            case '>' -> "&gt;";
            case '"' -> "&quot;";
            case '\'' -> "&#39;";
            default -> null;
          };
      if (r != null && b == null) {
        b = new StringBuilder(s.length() + 16).append(s, 0, i);
      }
      if (b != null) {
        if (r != null) {
          b.append(r);
        } else {
          b.append(c);
        }
      }
    }
    return b == null ? s : b.toString();
  }

  /** The page's own markup; never a value that came from outside. */
  Html raw(String markup) {
    out.append(markup);
    return this;
  }

  /** A value, escaped; {@code null} shows as an en dash. */
  Html text(@Nullable Object value) {
    out.append(value == null ? "–" : escape(String.valueOf(value)));
    return this;
  }

  /** {@code <tag>value</tag>}, the value escaped. */
  Html el(String tag, @Nullable Object value) {
    return raw("<" + tag + ">").text(value).raw("</" + tag + ">");
  }

  /** A header cell for a column. */
  Html th(String label) {
    return raw("<th scope=\"col\">").text(label).raw("</th>");
  }

  /** A link; the href is built by {@link #query}, the label escaped. */
  Html link(String href, Object label) {
    return raw("<a href=\"").text(href).raw("\">").text(label).raw("</a>");
  }

  /**
   * {@code /?k1=v1&k2=v2...} from pairs, skipping null values; URL-encoded (then escaped by {@link
   * #link}).
   */
  static String query(@Nullable String... pairs) {
    StringBuilder q = new StringBuilder("/");
    for (int i = 0; i + 1 < pairs.length; i += 2) {
      String value = pairs[i + 1];
      if (value != null) {
        q.append(q.length() == 1 ? '?' : '&')
            .append(pairs[i])
            .append('=')
            .append(URLEncoder.encode(value, StandardCharsets.UTF_8));
      }
    }
    return q.toString();
  }

  /** A {@code <time>} element in UTC. */
  Html time(@Nullable Instant at) {
    if (at == null) {
      return text(null);
    }
    return raw("<time datetime=\"")
        .text(at.toString())
        .raw("\">")
        .text(TIME.format(at))
        .raw("</time>");
  }

  /** {@code 3 s}, {@code 4 min}, {@code 2 h}: how long ago or how long left, for people. */
  static String duration(Duration d) {
    long s = Math.max(0, d.toSeconds());
    if (s < 120) {
      return s + " s";
    }
    if (s < 7200) {
      return s / 60 + " min";
    }
    return s / 3600 + " h";
  }

  /** A progress bar with its figures as text beside it (screen readers read both). */
  Html progress(long done, long total, String label) {
    raw("<progress max=\"")
        .text(Math.max(total, 1))
        .raw("\" value=\"")
        .text(Math.min(done, Math.max(total, 1)))
        .raw("\" aria-label=\"")
        .text(label)
        .raw("\"></progress> ");
    return this;
  }

  @Override
  public String toString() {
    return out.toString();
  }
}
