package dev.ociproxy.core.oci;

import static java.util.Objects.requireNonNull;

/**
 * A repository name such as {@code library/alpine}, validated against the distribution-spec grammar
 * so it is safe to use as a relative path on disk.
 */
public record RepositoryName(String value) {
  /** Maximum length, as in distribution (255 including the registry host). */
  public static final int MAX_LENGTH = 255;

  public RepositoryName {
    requireNonNull(value, "value");
    if (!isValid(value)) {
      throw new RegistryException(
          OciErrorCode.NAME_INVALID, "invalid repository name: " + Tag.abbreviate(value));
    }
  }

  /** True when {@code s} is a valid repository name. */
  public static boolean isValid(String s) {
    // The spec's [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*, by hand:
    // this runs on every request, and a regular expression with nested repetition is not cheap.
    int n = s.length();
    if (n > MAX_LENGTH) {
      return false;
    }
    int i = 0;
    while (true) {
      if (i == n || !lowerAlnum(s.charAt(i))) {
        return false; // every component, and the text after every separator, starts alphanumeric
      }
      while (i < n && lowerAlnum(s.charAt(i))) {
        i++;
      }
      if (i == n) {
        return true;
      }
      char c = s.charAt(i++);
      if (c == '_' && i < n && s.charAt(i) == '_') {
        i++;
      } else if (c == '-') {
        while (i < n && s.charAt(i) == '-') {
          i++;
        }
      } else if (c != '/' && c != '.' && c != '_') {
        return false;
      }
    }
  }

  private static boolean lowerAlnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  }

  @Override
  public String toString() {
    return value;
  }
}
