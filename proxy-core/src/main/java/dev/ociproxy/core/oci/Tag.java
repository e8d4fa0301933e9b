package dev.ociproxy.core.oci;

import static java.util.Objects.requireNonNull;

import java.util.regex.Pattern;

/** A manifest tag, validated against the distribution-spec grammar. */
public record Tag(String value) implements Reference {
  private static final Pattern GRAMMAR = Pattern.compile("[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}");

  public Tag {
    requireNonNull(value, "value");
    if (!GRAMMAR.matcher(value).matches()) {
      throw new RegistryException(
          OciErrorCode.MANIFEST_INVALID, 400, "invalid tag: " + abbreviate(value));
    }
  }

  static String abbreviate(String s) {
    return s.length() <= 140 ? s : s.substring(0, 140) + "…";
  }

  @Override
  public String toString() {
    return value;
  }
}
