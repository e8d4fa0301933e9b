package dev.ociproxy.core.airgap;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.oci.Descriptor;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.ManifestDocument;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.Set;

/**
 * Everything reachable from a repository's pins: the pinned manifests, their index children, and
 * the blobs those name. Computed from verified manifests in the store, so it grows as a client (or
 * a warm) fetches the pinned manifests first, which is the order every pull takes. Thread-safe.
 */
final class PinClosure {
  private record Key(String upstream, RepositoryName repo) {}

  /**
   * What was reachable when last computed; {@code complete} is false while a manifest was missing.
   */
  private record Reach(Pins pins, Set<Digest> digests, boolean complete) {}

  private final ContentStore store;

  /** Bounded: clients choose the repositories they ask a pinned-only upstream for. */
  private final Cache<Key, Reach> memo =
      Caffeine.newBuilder().maximumSize(10_000).executor(Runnable::run).build();

  PinClosure(ContentStore store) {
    this.store = store;
  }

  boolean reachable(Pins pins, String upstream, RepositoryName repo, Digest d) {
    Key k = new Key(upstream, repo);
    Reach r = memo.getIfPresent(k);
    if (r == null || r.pins() != pins || (!r.complete() && !r.digests().contains(d))) {
      r = compute(pins, upstream, repo);
      memo.put(k, r);
    }
    return r.digests().contains(d);
  }

  private Reach compute(Pins pins, String upstream, RepositoryName repo) {
    Set<Digest> seen = new HashSet<>();
    boolean complete = true;
    Deque<Digest> manifests = new ArrayDeque<>(pins.digests(upstream, repo));
    while (!manifests.isEmpty()) {
      Digest m = manifests.poll();
      if (!seen.add(m)) {
        continue;
      }
      byte[] body = store.readManifest(m);
      if (body == null) {
        complete = false;
        continue;
      }
      ManifestDocument doc;
      try {
        doc = ManifestDocument.parse(body, null);
      } catch (RegistryException e) {
        continue; // verified bytes that are not a manifest we understand: they reach nothing
      }
      if (doc.isIndex()) {
        for (Descriptor c : doc.manifests()) {
          manifests.add(c.digest());
        }
      } else {
        for (Descriptor b : doc.blobs()) {
          seen.add(b.digest());
        }
      }
    }
    return new Reach(pins, Set.copyOf(seen), complete);
  }
}
