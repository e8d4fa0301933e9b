package dev.ociproxy.core.airgap;

import dev.ociproxy.core.concurrent.Futures;
import dev.ociproxy.core.oci.Descriptor;
import dev.ociproxy.core.oci.ManifestDocument;
import dev.ociproxy.core.oci.RegistryException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * The one walk of an image's graph (index, its manifests, their config and layers) that warm,
 * export, import and the pin closure share: how deep indexes may nest, which entries of the top
 * index a platform list keeps, that a child's bytes must be the size its index says, and that
 * foreign layers are passed by. What differs (where manifests are read from, what is done with a
 * blob) is the {@link Visitor}'s. Asynchronous because warm reads through the registry; readers of
 * a store or an archive answer with completed futures, and the walk then runs on the caller's
 * thread.
 */
final class ImageGraph {
  /** Nested indexes deeper than this are refused: a loop would otherwise never end. */
  static final int MAX_INDEX_DEPTH = 3;

  private ImageGraph() {}

  /** A manifest of the graph: its descriptor (as its index lists it), verified bytes, document. */
  @SuppressWarnings("ArrayRecordComponent") // bytes to read or write, never compared
  record Node(Descriptor descriptor, byte[] body, ManifestDocument doc) {
    /**
     * Parses {@code body}; {@code contentType} is what its source said it is (ignored unless a
     * manifest type).
     *
     * @throws RegistryException when the body is not a manifest, or not of the kind it claims
     */
    static Node parse(Descriptor descriptor, byte[] body, @Nullable String contentType) {
      return new Node(descriptor, body, ManifestDocument.parse(body, contentType));
    }
  }

  /**
   * What a walk reads and what it does with what it finds. Called from whichever thread completes a
   * read: a visitor whose reads complete on several threads must be thread-safe.
   */
  interface Visitor {
    /**
     * Reads the index entry {@code entry} (at {@code depth}, the top being 0): its verified bytes,
     * or null when this source does not hold it (the visitor notes that itself, as a problem or
     * not: only it knows whether that is one). Fails when what it holds is not that manifest.
     */
    CompletableFuture<@Nullable Node> read(Descriptor entry, int depth);

    /** Where {@link #read} looks, for messages: "the cache", "the archive". */
    String holder();

    /** Something in the graph that makes the image unusable. */
    void problem(String message);

    /** A config or layer of image manifest {@code of}. */
    void blob(Descriptor blob, Node of);

    /** A foreign layer of {@code of}: registries need not hold it, a pull gets it elsewhere. */
    default void foreign(Descriptor layer, Node of) {}

    /** An entry of the top index the platform list left out. */
    default void leftOut(Descriptor entry) {}

    /** A manifest whose whole graph below has been walked: children come before their index. */
    default void walked(Node node) {}

    /** Reading (or walking below) the index entry {@code entry} failed with {@code cause}. */
    default void failed(Descriptor entry, Throwable cause) {
      problem(
          "manifest "
              + entry.digest()
              + (entry.platform() == null ? "" : " (" + entry.platform() + ")")
              + ": "
              + describe(cause));
    }
  }

  /**
   * Walks the graph below {@code root}; for an index only the entries of {@code platforms} (every
   * entry when empty). Completes when every read has; a failed read is the visitor's {@link
   * Visitor#failed}, so the walk fails only when the visitor throws at the top.
   */
  static CompletableFuture<Void> walk(Node root, Set<Platform> platforms, Visitor visitor) {
    Set<Platform> wanted = Set.copyOf(platforms);
    return CompletableFuture.completedFuture(root).thenCompose(r -> node(r, 0, wanted, visitor));
  }

  /**
   * Whether the index entry {@code child} at {@code depth} is wanted for {@code platforms}: the
   * filter picks among the top index's entries (empty: all); below that everything is kept.
   */
  static boolean wanted(Descriptor child, int depth, Set<Platform> platforms) {
    return depth > 0
        || platforms.isEmpty()
        || platforms.stream().anyMatch(p -> p.matches(child.platform()));
  }

  private static CompletableFuture<Void> node(
      Node n, int depth, Set<Platform> platforms, Visitor v) {
    Descriptor d = n.descriptor();
    if (!n.doc().isIndex()) {
      for (Descriptor b : n.doc().blobs()) {
        if (b.isForeign()) {
          v.foreign(b, n);
        } else {
          v.blob(b, n);
        }
      }
      v.walked(n);
      return CompletableFuture.completedFuture(null);
    }
    if (depth >= MAX_INDEX_DEPTH) {
      v.problem("index " + d.digest() + ": nested deeper than " + MAX_INDEX_DEPTH + " levels");
      return CompletableFuture.completedFuture(null);
    }
    List<Descriptor> entries = n.doc().manifests();
    List<CompletableFuture<Boolean>> held = new ArrayList<>();
    for (Descriptor c : entries) {
      if (wanted(c, depth, platforms)) {
        held.add(child(c, depth + 1, platforms, v));
      } else {
        v.leftOut(c);
      }
    }
    if (held.isEmpty()) {
      v.problem(
          "index "
              + d.digest()
              + " has no manifest for "
              + platforms
              + " (it has: "
              + entries.stream().map(c -> String.valueOf(c.platform())).toList()
              + ")");
      v.walked(n);
      return CompletableFuture.completedFuture(null);
    }
    return CompletableFuture.allOf(held.toArray(CompletableFuture[]::new))
        .thenRun(
            () -> {
              if (held.stream().noneMatch(CompletableFuture::join)) {
                v.problem(
                    "index "
                        + d.digest()
                        + ": none of its manifests"
                        + (platforms.isEmpty() ? "" : " for " + platforms)
                        + " is in "
                        + v.holder());
              }
              v.walked(n);
            });
  }

  /** Reads and walks one index entry; completes with whether the source held it. */
  private static CompletableFuture<Boolean> child(
      Descriptor c, int depth, Set<Platform> platforms, Visitor v) {
    CompletableFuture<@Nullable Node> read;
    try {
      read = v.read(c, depth);
    } catch (RuntimeException e) {
      read = CompletableFuture.failedFuture(e);
    }
    return read.<Boolean>thenCompose(
            n -> {
              if (n == null) {
                return CompletableFuture.completedFuture(false);
              }
              if (n.body().length != c.size()) {
                v.problem(
                    "manifest "
                        + c.digest()
                        + ": the index says "
                        + c.size()
                        + " bytes, it has "
                        + n.body().length);
              }
              return node(n, depth, platforms, v).thenApply(x -> true);
            })
        .exceptionally(
            err -> {
              v.failed(c, Futures.cause(err));
              return true;
            });
  }

  /**
   * The message of the failure behind {@code err}, with its registry error code when it has one.
   */
  static String describe(Throwable err) {
    Throwable t = Futures.cause(err);
    if (t instanceof RegistryException r) {
      return r.code() + ": " + r.getMessage();
    }
    return t.getMessage() == null ? t.toString() : t.getMessage();
  }
}
