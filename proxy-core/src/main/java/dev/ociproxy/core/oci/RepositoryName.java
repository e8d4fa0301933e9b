package dev.ociproxy.core.oci;

import static java.util.Objects.requireNonNull;

import java.util.regex.Pattern;

/**
 * A repository name such as {@code library/alpine}, validated against the distribution-spec grammar
 * so it is safe to use as a relative path on disk.
 */
public record RepositoryName(String value) {
  /** Maximum length, as in distribution (255 including the registry host). */
  public static final int MAX_LENGTH = 255;

  private static final Pattern GRAMMAR =
      Pattern.compile("[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*");

  public RepositoryName {
    requireNonNull(value, "value");
    if (value.length() > MAX_LENGTH || !GRAMMAR.matcher(value).matches()) {
      throw new RegistryException(
          OciErrorCode.NAME_INVALID, "invalid repository name: " + Tag.abbreviate(value));
    }
  }

  /** True when {@code s} is a valid repository name. */
  public static boolean isValid(String s) {
    return s.length() <= MAX_LENGTH && GRAMMAR.matcher(s).matches();
  }

  @Override
  public String toString() {
    return value;
  }
}
