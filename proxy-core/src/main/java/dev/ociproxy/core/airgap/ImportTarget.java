package dev.ociproxy.core.airgap;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.RepositoryName;
import java.util.List;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * Which tag an imported image gets, from its {@code index.json} names: our full references ({@code
 * upstream/repo:tag}), skopeo's bare tags (with the {@code --repository} given), containerd's image
 * name, or none (imported by digest only).
 */
final class ImportTarget {
  private final List<String> upstreams;
  private final @Nullable String defaultUpstream;
  private final @Nullable String explicitUpstream;
  private final @Nullable RepositoryName repository;

  ImportTarget(
      List<String> upstreams,
      @Nullable String defaultUpstream,
      @Nullable String explicitUpstream,
      @Nullable RepositoryName repository) {
    this.upstreams = List.copyOf(upstreams);
    this.defaultUpstream = defaultUpstream;
    this.explicitUpstream = explicitUpstream;
    this.repository = repository;
  }

  /**
   * The tag the names ask for, or null to import by digest only (said in {@code notes}; a name that
   * cannot be used is one of {@code problems}).
   */
  @Nullable ImageRef of(
      @Nullable String refName,
      @Nullable String containerdName,
      Digest digest,
      List<String> problems,
      List<String> notes) {
    String name = null;
    if (refName != null
        && (refName.contains("/") || refName.contains(":") || refName.contains("@"))) {
      name = refName;
    } else if (containerdName != null) {
      name = containerdName;
    } else if (refName != null && repository != null) {
      name = repository + ":" + refName;
    }
    if (name == null) {
      notes.add(
          refName == null
              ? "no ref name: imported by digest only"
              : "ref name '"
                  + refName
                  + "' names no repository (give --repository): imported by digest only");
      return null;
    }
    ImageRef ref;
    try {
      ref =
          explicitUpstream == null
              ? ImageRef.parse(name, upstreams, defaultUpstream)
              : ImageRef.parse(withoutHost(name), List.of(), explicitUpstream);
    } catch (IllegalArgumentException e) {
      problems.add(
          "ref name: "
              + e.getMessage()
              + (explicitUpstream == null
                  ? " (use --upstream to import it under a configured upstream)"
                  : ""));
      return null;
    }
    if (ref.digest() != null && !digest.equals(ref.digest())) {
      problems.add(
          "ref name " + name + " names " + ref.digest() + " but its descriptor is " + digest);
      return null;
    }
    String beforeDigest = name.indexOf('@') < 0 ? name : name.substring(0, name.indexOf('@'));
    if (ref.tag() == null
        || beforeDigest.lastIndexOf(':') < beforeDigest.lastIndexOf('/')
        || beforeDigest.indexOf(':') < 0) {
      notes.add("ref name " + name + " has no tag: imported by digest only");
      return null;
    }
    return new ImageRef(ref.upstream(), ref.repository(), ref.tag(), null);
  }

  /** Drops a leading registry host (or configured upstream name) from a reference. */
  private String withoutHost(String name) {
    int slash = name.indexOf('/');
    if (slash <= 0) {
      return name;
    }
    String first = name.substring(0, slash);
    boolean host =
        upstreams.contains(first.toLowerCase(Locale.ROOT))
            || first.contains(".")
            || first.contains(":")
            || first.equals("localhost");
    return host ? name.substring(slash + 1) : name;
  }
}
