package dev.ociproxy.core.airgap;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.oci.Descriptor;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

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
    Reader reader = new Reader(seen);
    for (Digest pinned : pins.digests(upstream, repo)) {
      if (!seen.add(pinned)) {
        continue;
      }
      ImageGraph.Node root = reader.node(pinned, null);
      if (root != null) {
        ImageGraph.walk(root, Set.of(), reader).join(); // the store answers at once
      }
    }
    return new Reach(pins, Set.copyOf(seen), reader.complete);
  }

  /**
   * Reads the verified manifests of the store: every platform, foreign layers too (a client may ask
   * the upstream for them). A manifest not yet fetched leaves the closure incomplete; bytes that
   * are no manifest we understand reach nothing.
   */
  private final class Reader implements ImageGraph.Visitor {
    private final Set<Digest> seen;
    private boolean complete = true;

    Reader(Set<Digest> seen) {
      this.seen = seen;
    }

    ImageGraph.@Nullable Node node(Digest d, @Nullable Descriptor entry) {
      byte[] body = store.readManifest(d);
      if (body == null) {
        complete = false;
        return null;
      }
      try {
        Descriptor listed = entry != null ? entry : new Descriptor("", d, body.length, null);
        return ImageGraph.Node.parse(listed, body, null);
      } catch (RegistryException e) {
        return null;
      }
    }

    @Override
    public CompletableFuture<ImageGraph.@Nullable Node> read(Descriptor entry, int depth) {
      seen.add(entry.digest());
      return CompletableFuture.completedFuture(node(entry.digest(), entry));
    }

    @Override
    public String holder() {
      return "the cache";
    }

    @Override
    public void problem(String message) {} // what is reachable is all that is asked

    @Override
    public void blob(Descriptor blob, ImageGraph.Node of) {
      seen.add(blob.digest());
    }

    @Override
    public void foreign(Descriptor layer, ImageGraph.Node of) {
      seen.add(layer.digest());
    }
  }
}
