package dev.ociproxy.core.airgap;

import static java.util.Objects.requireNonNull;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * A site's lockfile: which digest each pinned {@code upstream/repo:tag} means. Immutable; a changed
 * pin file produces a new instance.
 */
public final class Pins {
  private static final Pins EMPTY = new Pins(Map.of());

  /** One pinned tag. */
  public record Key(String upstream, RepositoryName repository, Tag tag) {
    public Key {
      requireNonNull(upstream, "upstream");
      requireNonNull(repository, "repository");
      requireNonNull(tag, "tag");
    }

    @Override
    public String toString() {
      return upstream + "/" + repository + ":" + tag;
    }
  }

  private final Map<Key, Digest> pins;

  private Pins(Map<Key, Digest> pins) {
    this.pins = Collections.unmodifiableMap(new LinkedHashMap<>(pins));
  }

  public static Pins empty() {
    return EMPTY;
  }

  /**
   * Builds pins from {@code reference → digest} entries as read from a pin file; references are
   * resolved like {@link ImageRef#parse} and must name a tag, not a digest.
   *
   * @throws IllegalArgumentException naming the first bad entry and what is wrong with it
   */
  public static Pins of(
      Map<String, String> entries, Collection<String> upstreams, @Nullable String defaultUpstream) {
    Map<Key, Digest> out = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : entries.entrySet()) {
      ImageRef ref = ImageRef.parse(e.getKey(), upstreams, defaultUpstream);
      if (ref.digest() != null
          || !e.getKey().contains(":")
          || e.getKey().lastIndexOf(':') < e.getKey().lastIndexOf('/')) {
        throw new IllegalArgumentException(
            "pin '"
                + e.getKey()
                + "': expected upstream/repo:tag (a tag, not a digest) as the key");
      }
      Digest d;
      try {
        d = Digest.parse(String.valueOf(e.getValue()).trim());
      } catch (RegistryException ex) {
        throw new IllegalArgumentException(
            "pin '" + e.getKey() + "': " + ex.getMessage() + " (expected sha256:<64 hex>)", ex);
      }
      Key k =
          new Key(
              ref.upstream(),
              ref.repository(),
              requireNonNull(ref.tag(), "tag")); // no digest: a tag
      Digest before = out.put(k, d);
      if (before != null && !before.equals(d)) {
        throw new IllegalArgumentException(
            "pin '" + e.getKey() + "': " + k + " is pinned twice (" + before + " and " + d + ")");
      }
    }
    return new Pins(out);
  }

  /** The digest {@code upstream/repo:tag} is pinned to, or null. */
  public @Nullable Digest get(String upstream, RepositoryName repo, Tag tag) {
    return pins.get(new Key(upstream, repo, tag));
  }

  public Map<Key, Digest> all() {
    return pins;
  }

  public int size() {
    return pins.size();
  }

  public boolean isEmpty() {
    return pins.isEmpty();
  }

  /** The pinned tags of one repository, in file order. */
  public List<String> tags(String upstream, RepositoryName repo) {
    return pins.keySet().stream()
        .filter(k -> k.upstream().equals(upstream) && k.repository().equals(repo))
        .map(k -> k.tag().value())
        .toList();
  }

  /** The pinned digests of one repository: the roots of what pinned-only may serve there. */
  public Set<Digest> digests(String upstream, RepositoryName repo) {
    Set<Digest> out = new LinkedHashSet<>();
    pins.forEach(
        (k, d) -> {
          if (k.upstream().equals(upstream) && k.repository().equals(repo)) {
            out.add(d);
          }
        });
    return out;
  }
}
