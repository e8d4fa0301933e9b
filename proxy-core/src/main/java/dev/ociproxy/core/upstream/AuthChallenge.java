package dev.ociproxy.core.upstream;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A parsed {@code WWW-Authenticate} challenge, e.g. {@code Bearer realm="…",service="…",scope="…"}.
 * Only the first challenge of the header is read: registries send one.
 */
public record AuthChallenge(String scheme, Map<String, String> params) {

  /** Parses a header value; returns null when it is not a challenge we can read. */
  public static @Nullable AuthChallenge parse(@Nullable String header) {
    if (header == null) {
      return null;
    }
    String s = header.trim();
    int sp = s.indexOf(' ');
    String scheme = (sp < 0 ? s : s.substring(0, sp)).toLowerCase(Locale.ROOT);
    if (scheme.isEmpty()
        || !scheme.chars().allMatch(c -> Character.isLetterOrDigit(c) || c == '-')) {
      return null;
    }
    Map<String, String> params = new LinkedHashMap<>();
    int i = sp < 0 ? s.length() : sp + 1;
    while (i < s.length()) {
      while (i < s.length() && (s.charAt(i) == ' ' || s.charAt(i) == ',')) {
        i++;
      }
      int eq = s.indexOf('=', i);
      if (eq < 0) {
        break;
      }
      String key = s.substring(i, eq).trim().toLowerCase(Locale.ROOT);
      i = eq + 1;
      StringBuilder value = new StringBuilder();
      if (i < s.length() && s.charAt(i) == '"') {
        i++;
        while (i < s.length() && s.charAt(i) != '"') {
          char c = s.charAt(i);
          if (c == '\\' && i + 1 < s.length()) {
            c = s.charAt(++i);
          }
          value.append(c);
          i++;
        }
        i++; // closing quote
      } else {
        while (i < s.length() && s.charAt(i) != ',') {
          value.append(s.charAt(i++));
        }
      }
      if (!key.isEmpty()) {
        params.put(key, value.toString().trim());
      }
    }
    return new AuthChallenge(scheme, Map.copyOf(params));
  }

  public boolean isBearer() {
    return "bearer".equals(scheme);
  }

  public boolean isBasic() {
    return "basic".equals(scheme);
  }

  public @Nullable String param(String name) {
    return params.get(name);
  }
}
