package dev.ociproxy.core.oci;

import static java.util.Objects.requireNonNull;

/** A manifest tag, validated against the distribution-spec grammar. */
public record Tag(String value) implements Reference {
  public Tag {
    requireNonNull(value, "value");
    if (!isValid(value)) {
      throw new RegistryException(
          OciErrorCode.MANIFEST_INVALID, 400, "invalid tag: " + abbreviate(value));
    }
  }

  /**
   * The spec's {@code [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}}, checked by hand (it runs per request).
   */
  public static boolean isValid(String s) {
    int n = s.length();
    if (n == 0 || n > 128 || s.charAt(0) == '.' || s.charAt(0) == '-') {
      return false;
    }
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      boolean ok =
          (c >= 'a' && c <= 'z')
              || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9')
              || c == '_'
              || c == '.'
              || c == '-';
      if (!ok) {
        return false;
      }
    }
    return true;
  }

  static String abbreviate(String s) {
    return s.length() <= 140 ? s : s.substring(0, 140) + "…";
  }

  @Override
  public String toString() {
    return value;
  }
}
