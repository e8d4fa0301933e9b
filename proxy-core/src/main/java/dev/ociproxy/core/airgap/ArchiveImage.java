package dev.ociproxy.core.airgap;

import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.concurrent.Futures;
import dev.ociproxy.core.oci.Descriptor;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.MediaTypes;
import dev.ociproxy.core.oci.RegistryException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.jspecify.annotations.Nullable;

/**
 * One image of a layout being imported: the walk of its graph in the archive, every manifest and
 * blob checked against its descriptor's digest and size, what it needs in publishing order, and
 * what is wrong with it. Publishing moves blobs first, manifests next (children before their
 * index), so no reader ever sees a manifest whose content is missing. Not thread-safe.
 */
final class ArchiveImage implements ImageGraph.Visitor {
  private final LayoutSource src;
  private final ContentStore store;
  private final long manifestMaxBytes;
  private final String where;
  private final Map<Digest, ImageGraph.Node> manifests = new LinkedHashMap<>();
  private final Map<Digest, Descriptor> blobs = new LinkedHashMap<>();
  final List<String> problems = new ArrayList<>();
  final List<String> notes = new ArrayList<>();

  /**
   * @param where how messages name the image ({@code index.json entry 0 (name)})
   */
  ArchiveImage(LayoutSource src, ContentStore store, long manifestMaxBytes, String where) {
    this.src = src;
    this.store = store;
    this.manifestMaxBytes = manifestMaxBytes;
    this.where = where;
  }

  /** Checks the image whose top manifest is {@code top}, and every manifest and blob below it. */
  void check(Descriptor top) throws IOException {
    ImageGraph.Node root = verified(top, where + ": manifest " + top.digest());
    if (root == null) {
      return;
    }
    try {
      ImageGraph.walk(root, Set.of(), this).join(); // the archive answers at once
    } catch (CompletionException e) {
      if (Futures.cause(e) instanceof UncheckedIOException io) {
        throw io.getCause();
      }
      throw e;
    }
  }

  /** The media type of the verified top manifest {@code d}. */
  String mediaType(Digest d) {
    ImageGraph.Node n = manifests.get(d);
    if (n == null) {
      throw new IllegalStateException("manifest " + d + " was not verified");
    }
    return n.doc().mediaType();
  }

  /** The verified manifest {@code d} of the image, or null. */
  ImageGraph.@Nullable Node node(Digest d) {
    return manifests.get(d);
  }

  /** Every manifest and blob of the image. */
  Set<Digest> digests() {
    Set<Digest> all = new LinkedHashSet<>(manifests.keySet());
    all.addAll(blobs.keySet());
    return all;
  }

  @Override
  public CompletableFuture<ImageGraph.@Nullable Node> read(Descriptor entry, int depth) {
    try {
      if (src.size(entry.digest()) < 0) {
        notes.add(
            "platform "
                + (entry.platform() == null ? entry.digest() : entry.platform())
                + " is not in the archive (left out at export)");
        return CompletableFuture.completedFuture(null);
      }
      ImageGraph.Node n = verified(entry, where + ": manifest " + entry.digest());
      // Refused: said already. Counts as held, so the index is not also called empty.
      return n != null
          ? CompletableFuture.completedFuture(n)
          : CompletableFuture.failedFuture(new Refused());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A manifest refused with a problem of its own already reported. */
  private static final class Refused extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Refused() {
      super(null, null, false, false);
    }
  }

  @Override
  public String holder() {
    return "the archive";
  }

  @Override
  public void problem(String message) {
    problems.add(where + ": " + message);
  }

  @Override
  public void failed(Descriptor entry, Throwable cause) {
    if (!(cause instanceof Refused)) {
      ImageGraph.Visitor.super.failed(entry, cause);
    }
  }

  @Override
  public void blob(Descriptor b, ImageGraph.Node of) {
    String role = b.mediaType().contains("config") ? "config" : "layer " + layerIndex(b, of);
    try {
      blob(b, where + ": " + role + " " + b.digest() + " of manifest " + of.descriptor().digest());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Which layer {@code b} is, counting the blobs before it that are not a config. */
  private static long layerIndex(Descriptor b, ImageGraph.Node of) {
    List<Descriptor> all = of.doc().blobs();
    return all.subList(0, all.indexOf(b)).stream()
        .filter(x -> !x.mediaType().contains("config"))
        .count();
  }

  @Override
  public void foreign(Descriptor layer, ImageGraph.Node of) {
    try {
      if (src.size(layer.digest()) < 0) {
        notes.add(
            "layer "
                + layer.digest()
                + " of manifest "
                + of.descriptor().digest()
                + " is a foreign layer, not in the archive");
        return;
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    blob(layer, of); // carried anyway: verified and imported like any layer
  }

  @Override
  public void walked(ImageGraph.Node node) {
    manifests.put(node.descriptor().digest(), node);
  }

  /** Manifest {@code d} from the archive, verified; null when refused (a problem says why). */
  private ImageGraph.@Nullable Node verified(Descriptor d, String what) throws IOException {
    long size = src.size(d.digest());
    if (size < 0) {
      problems.add(what + " is missing from the archive");
      return null;
    }
    if (d.size() > manifestMaxBytes || size > manifestMaxBytes) {
      problems.add(
          what
              + ": "
              + Math.max(size, d.size())
              + " bytes, over the manifest limit of "
              + manifestMaxBytes);
      return null;
    }
    if (size != d.size()) {
      problems.add(what + ": the descriptor says " + d.size() + " bytes, the archive has " + size);
      return null;
    }
    LayoutSource.Staged s = src.stage(d.digest());
    if (s == null || !s.actual().equals(d.digest()) || s.size() != d.size()) {
      problems.add(mismatch(what, s, d) + " bytes): tampered or corrupt");
      return null;
    }
    byte[] body = Files.readAllBytes(s.verifiedFile());
    if (!Digest.of(d.digest().algorithm(), body).equals(d.digest())) {
      problems.add(what + ": content changed while being imported");
      return null;
    }
    try {
      String declared = MediaTypes.ALL_MANIFESTS.contains(d.mediaType()) ? d.mediaType() : null;
      return ImageGraph.Node.parse(d, body, declared);
    } catch (RegistryException e) {
      problems.add(what + ": " + e.getMessage());
      return null;
    }
  }

  private void blob(Descriptor b, String what) throws IOException {
    if (blobs.containsKey(b.digest())) {
      return;
    }
    long size = src.size(b.digest());
    if (size < 0) {
      problems.add(what + " is missing from the archive");
      return;
    }
    if (size != b.size()) {
      problems.add(what + ": the manifest says " + b.size() + " bytes, the archive has " + size);
      return;
    }
    LayoutSource.Staged s = src.stage(b.digest());
    if (s == null || !s.actual().equals(b.digest()) || s.size() != b.size()) {
      problems.add(mismatch(what, s, b) + "): tampered or corrupt");
      return;
    }
    blobs.put(b.digest(), b);
  }

  private static String mismatch(String what, LayoutSource.@Nullable Staged s, Descriptor want) {
    return what
        + ": content hashes to "
        + (s == null ? "nothing" : s.actual() + " (" + s.size() + " bytes)")
        + ", want "
        + want.digest()
        + " ("
        + want.size();
  }

  /** Moves the verified image into the store: blobs, then manifests (children first). */
  void publish() throws IOException {
    for (Digest d : blobs.keySet()) {
      LayoutSource.Staged s = src.stage(d);
      if (s != null && s.temporary()) {
        store.publish(s.verifiedFile(), store.blobPath(d));
        src.published(d);
      }
    }
    for (Map.Entry<Digest, ImageGraph.Node> m : manifests.entrySet()) {
      store.putManifest(m.getKey(), m.getValue().body());
    }
  }

  ImportReport.Item item(
      @Nullable String name, @Nullable Digest digest, @Nullable ImageRef tagged, boolean imported) {
    long bytes =
        blobs.values().stream().mapToLong(Descriptor::size).sum()
            + manifests.values().stream().mapToLong(m -> m.body().length).sum();
    return new ImportReport.Item(
        name, digest, tagged, imported, manifests.size(), blobs.size(), bytes, problems, notes);
  }
}
