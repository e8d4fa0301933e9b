package dev.ociproxy.core.policy;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.ociproxy.core.oci.Descriptor;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.ManifestDocument;
import dev.ociproxy.core.oci.RepositoryName;
import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * What admitted manifests admit in turn, per rule and repository: an index the platform manifests
 * it lists, an image its config and layers. Kept for {@link #PERIOD} after the manifest was last
 * served, long enough for the slowest pull that follows it; bounded, since clients choose what they
 * ask for (a forgotten admission is a refusal, never an admission). Thread-safe.
 */
final class Admissions {
  /** How long an admitted manifest's platforms and blobs stay admitted after it was served. */
  static final Duration PERIOD = Duration.ofHours(1);

  private record Key(String scope, RepositoryName repo, Digest digest) {}

  private final Cache<Key, Verdict.Reason> admitted =
      Caffeine.newBuilder()
          .maximumSize(200_000)
          .expireAfterWrite(PERIOD)
          .executor(Runnable::run)
          .build();

  /** Admits what {@code doc}, just admitted under {@code rule}, references. */
  void referencedBy(Rule rule, RepositoryName repo, ManifestDocument doc) {
    boolean index = doc.isIndex();
    for (Descriptor d : index ? doc.manifests() : doc.blobs()) {
      admitted.put(
          new Key(rule.scope(), repo, d.digest()),
          index ? Verdict.Reason.LISTED_IN_SIGNED_INDEX : Verdict.Reason.REFERENCED);
    }
  }

  /** How {@code digest} was admitted under {@code rule}, or null when it was not. */
  Verdict.@Nullable Reason of(Rule rule, RepositoryName repo, Digest digest) {
    return admitted.getIfPresent(new Key(rule.scope(), repo, digest));
  }
}
