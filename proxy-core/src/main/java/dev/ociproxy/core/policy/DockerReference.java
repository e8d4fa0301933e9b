package dev.ociproxy.core.policy;

import org.jspecify.annotations.Nullable;

/**
 * An image reference as signatures name it ({@code host/repo[:tag][@digest]}), normalised the way
 * containers/image's {@code ParseNormalizedNamed} does, so that {@code busybox}, {@code
 * docker.io/library/busybox} and {@code index.docker.io/library/busybox} are the same name.
 *
 * @param name the normalised repository name, host included
 * @param tag null when the reference names no tag
 * @param digest null when the reference names no digest
 */
public record DockerReference(String name, @Nullable String tag, @Nullable String digest) {
  /**
   * Parses {@code ref}; null when it is not a reference at all (empty, or a tag or digest alone).
   */
  public static @Nullable DockerReference parse(String ref) {
    String s = ref.trim();
    String digest = null;
    int at = s.indexOf('@');
    if (at >= 0) {
      digest = s.substring(at + 1);
      s = s.substring(0, at);
    }
    String tag = null;
    int colon = s.lastIndexOf(':');
    if (colon > s.lastIndexOf('/')) {
      tag = s.substring(colon + 1);
      s = s.substring(0, colon);
    }
    if (s.isEmpty() || s.startsWith("/") || s.endsWith("/") || s.contains("//")) {
      return null;
    }
    return new DockerReference(normalizedName(s), tag, digest);
  }

  /** {@code name} with Docker Hub's implied host and {@code library/} namespace made explicit. */
  public static String normalizedName(String name) {
    int slash = name.indexOf('/');
    String first = slash < 0 ? "" : name.substring(0, slash);
    boolean hasHost =
        slash >= 0 && (first.contains(".") || first.contains(":") || first.equals("localhost"));
    if (!hasHost) {
      return "docker.io/" + (slash < 0 ? "library/" : "") + name;
    }
    if (first.equals("index.docker.io")) {
      String rest = name.substring(slash + 1);
      return "docker.io/" + (rest.contains("/") ? "" : "library/") + rest;
    }
    return name;
  }

  /** The reference as containers/image prints it: {@code name[:tag][@digest]}. */
  @Override
  public String toString() {
    return name + (tag == null ? "" : ":" + tag) + (digest == null ? "" : "@" + digest);
  }
}
