package dev.ociproxy.core.airgap;

import static java.util.Objects.requireNonNull;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.Reference;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import java.util.Collection;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * An image reference resolved against the configured upstreams: {@code upstream/repo:tag}, {@code
 * upstream/repo@sha256:…} or {@code upstream/repo:tag@sha256:…} (the digest then decides the
 * content, the tag only names it).
 *
 * @param tag null for a reference by digest only
 * @param digest null for a reference by tag only
 */
public record ImageRef(
    String upstream, RepositoryName repository, @Nullable Tag tag, @Nullable Digest digest) {
  /** The tag a reference without tag or digest means, as in {@code docker pull}. */
  public static final String DEFAULT_TAG = "latest";

  public ImageRef {
    requireNonNull(upstream, "upstream");
    requireNonNull(repository, "repository");
    if (tag == null && digest == null) {
      throw new IllegalArgumentException("tag and digest: both null (expected: at least one)");
    }
  }

  /**
   * Parses {@code s}. The first path component names an upstream when it is one of {@code
   * upstreams}; a first component that looks like a host ({@code .}, {@code :} or {@code
   * localhost}) but is not configured is an error rather than silently part of the repository.
   * Without an upstream prefix the reference means {@code defaultUpstream}.
   *
   * @param defaultUpstream may be null when no upstream is the default
   * @throws IllegalArgumentException naming {@code s} and what is wrong with it
   */
  public static ImageRef parse(
      String s, Collection<String> upstreams, @Nullable String defaultUpstream) {
    requireNonNull(s, "s");
    String text = s.trim();
    try {
      Digest digest = null;
      int at = text.indexOf('@');
      if (at >= 0) {
        digest = Digest.parse(text.substring(at + 1));
        text = text.substring(0, at);
      }
      Tag tag = null;
      int colon = text.lastIndexOf(':');
      if (colon > text.lastIndexOf('/')) {
        tag = new Tag(text.substring(colon + 1));
        text = text.substring(0, colon);
      }
      if (tag == null && digest == null) {
        tag = new Tag(DEFAULT_TAG);
      }
      String upstream = null;
      int slash = text.indexOf('/');
      if (slash > 0) {
        String first = text.substring(0, slash);
        if (upstreams.contains(first.toLowerCase(Locale.ROOT))) {
          upstream = first.toLowerCase(Locale.ROOT);
          text = text.substring(slash + 1);
        } else if (first.contains(".") || first.contains(":") || first.equals("localhost")) {
          throw new IllegalArgumentException(
              "reference '"
                  + s
                  + "': unknown upstream '"
                  + first
                  + "' (configured: "
                  + String.join(", ", upstreams)
                  + ")");
        }
      }
      if (upstream == null) {
        if (defaultUpstream == null) {
          throw new IllegalArgumentException(
              "reference '"
                  + s
                  + "' names no upstream and no upstream is the default (configured: "
                  + String.join(", ", upstreams)
                  + ")");
        }
        upstream = defaultUpstream;
      }
      return new ImageRef(upstream, new RepositoryName(text), tag, digest);
    } catch (RegistryException e) {
      throw new IllegalArgumentException("reference '" + s + "': " + e.getMessage(), e);
    }
  }

  /** What {@code /manifests/<reference>} asks for: the digest when there is one, else the tag. */
  public Reference reference() {
    return digest != null ? digest : requireNonNull(tag, "tag"); // one of the two is set
  }

  /** {@code repo:tag}, {@code repo@digest} or {@code repo:tag@digest}, without the upstream. */
  public String repositoryReference() {
    return repository + (tag == null ? "" : ":" + tag) + (digest == null ? "" : "@" + digest);
  }

  @Override
  public String toString() {
    return upstream + "/" + repositoryReference();
  }
}
