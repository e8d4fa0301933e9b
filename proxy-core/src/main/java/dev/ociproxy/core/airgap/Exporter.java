package dev.ociproxy.core.airgap;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.cache.RepositoryLinks;
import dev.ociproxy.core.cache.TagIndex;
import dev.ociproxy.core.oci.Descriptor;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.MediaTypes;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.policy.SignatureArtifacts;
import dev.ociproxy.core.registry.Referrers;
import dev.ociproxy.core.registry.ReferrersStore;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * Writes images from the cache as an OCI image layout, a directory or a single tar of one, that
 * skopeo ({@code oci:DIR:NAME}, {@code oci-archive:FILE:NAME}), umoci and our own {@link Importer}
 * read. Each image is named by its full reference ({@code upstream/repo:tag}) in the {@code
 * org.opencontainers.image.ref.name} annotation. Bytes are re-hashed as they are copied out of the
 * cache ({@link LayoutSink}), so a disk fault cannot travel across the gap. Reads the store only;
 * safe while a proxy serves from it.
 */
public final class Exporter {
  private final ContentStore store;
  private final Pins pins;

  /**
   * @param pins pinned tags export their pin, whatever the tag index says
   */
  public Exporter(ContentStore store, Pins pins) {
    this.store = requireNonNull(store, "store");
    this.pins = requireNonNull(pins, "pins");
  }

  /**
   * Exports {@code refs} to {@code output}: a tar archive when its name ends in {@code .tar}, else
   * a layout directory (created, or added to when it already holds a layout; same names are
   * replaced). For an index only the manifests of {@code platforms} (every cached platform when
   * empty).
   */
  public ExportReport export(List<ImageRef> refs, Set<Platform> platforms, Path output)
      throws IOException {
    List<Plan> plans = new ArrayList<>();
    for (ImageRef ref : refs) {
      Plan p = plan(ref, Set.copyOf(platforms));
      plans.add(p);
      if (p.problems.isEmpty()) {
        plans.addAll(attached(p));
      }
    }
    List<ExportReport.Item> items = new ArrayList<>();
    try (LayoutSink sink = LayoutSink.open(output)) {
      List<ObjectNode> entries = new ArrayList<>();
      for (Plan p : plans) {
        if (p.problems.isEmpty()) {
          write(sink, p);
        }
        Descriptor top = p.top;
        if (p.problems.isEmpty() && top != null) {
          entries.add(LayoutSink.entry(top.mediaType(), top.digest(), top.size(), name(p.ref)));
        }
        items.add(p.item());
      }
      sink.finish(entries);
    }
    return new ExportReport(output, items);
  }

  /** The ref name of an exported image: the full reference, so an import knows its upstream. */
  static String name(ImageRef ref) {
    return ref.toString();
  }

  private Plan plan(ImageRef ref, Set<Platform> platforms) {
    // Only what this upstream served itself is its content: the store is shared by all upstreams.
    Plan p = new Plan(ref, platforms, new RepositoryLinks(store.root(), ref.upstream()));
    Digest top = resolve(ref);
    if (top == null) {
      p.problem("not in the cache: no record of tag " + ref + " (warm or pull it first)");
      return p;
    }
    byte[] body = p.held.served(top) ? store.readManifest(top) : null;
    if (body == null) {
      p.problem("manifest " + top + " is not in the cache (warm it first)");
      return p;
    }
    ImageGraph.Node root;
    try {
      root = ImageGraph.Node.parse(new Descriptor("", top, body.length, null), body, null);
    } catch (RegistryException e) {
      p.problem("manifest " + top + ": " + e.getMessage());
      return p;
    }
    return walked(p, root);
  }

  private static Plan walked(Plan p, ImageGraph.Node root) {
    Descriptor d = root.descriptor();
    p.top = new Descriptor(root.doc().mediaType(), d.digest(), d.size(), null);
    ImageGraph.walk(root, p.platforms, p).join(); // the store answers at once
    return p;
  }

  /**
   * What is attached to the manifests of {@code image} and wholly in the cache, as images of their
   * own: the verified referrers list of each, as the referrers tag schema lays it out (tagged
   * {@code sha256-<hex>}), and its cosign signature manifest under its own tag ({@code
   * sha256-<hex>.sig}), so a site with a signature policy can serve the image. What is only partly
   * cached is left out, said in a note.
   */
  private List<Plan> attached(Plan image) {
    List<Plan> out = new ArrayList<>();
    ImageRef ref = image.ref;
    ReferrersStore lists = new ReferrersStore(store, ref.upstream());
    for (Digest d : List.copyOf(image.manifests.keySet())) {
      ReferrersStore.Entry held = lists.get(ref.repository(), d);
      if (held != null && !held.referrers().manifests().isEmpty()) {
        Plan list = referrers(image, held.referrers());
        if (list != null) {
          out.add(list);
        }
      }
      Plan signature = classicSignature(image, d);
      if (signature != null) {
        out.add(signature);
      }
    }
    return out;
  }

  /** The cached {@code sha256-<hex>.sig} manifest of {@code d} with its payloads; or null. */
  private @Nullable Plan classicSignature(Plan image, Digest d) {
    Tag tag = SignatureArtifacts.classicTag(d);
    ImageRef ref = image.ref;
    ImageRef tagged =
        tag == null ? null : new ImageRef(ref.upstream(), ref.repository(), tag, null);
    if (tagged == null || resolve(tagged) == null) {
      return null;
    }
    Plan p = plan(tagged, Set.of());
    if (!p.problems.isEmpty()) {
      image.notes.add("left out signature " + tag + ": " + p.problems.get(0));
      return null;
    }
    return p;
  }

  /** The referrers of one manifest whose whole graph is cached, as a tag-schema index; or null. */
  private @Nullable Plan referrers(Plan image, Referrers held) {
    ImageRef ref = image.ref;
    List<Referrers.Referrer> whole = new ArrayList<>();
    for (Referrers.Referrer r : held.manifests()) {
      Plan one = plan(new ImageRef(ref.upstream(), ref.repository(), null, r.digest()), Set.of());
      if (one.problems.isEmpty()) {
        whole.add(r);
      } else {
        image.notes.add(
            "left out referrer "
                + r.digest()
                + " of "
                + held.subject()
                + ": "
                + one.problems.get(0));
      }
    }
    if (whole.isEmpty()) {
      return null;
    }
    byte[] index = new Referrers(held.subject(), whole, false).indexJson();
    Digest digest = Digest.sha256(index);
    ImageRef tagged =
        new ImageRef(ref.upstream(), ref.repository(), Attached.referrersTag(held.subject()), null);
    Plan list = new Plan(tagged, Set.of(), image.held);
    return walked(
        list,
        ImageGraph.Node.parse(
            new Descriptor(MediaTypes.OCI_INDEX, digest, index.length, null), index, null));
  }

  /** What {@code ref} means here: its digest, its pin, or what the tag index recorded. */
  private @Nullable Digest resolve(ImageRef ref) {
    if (ref.digest() != null) {
      return ref.digest();
    }
    Tag tag = requireNonNull(ref.tag(), "a reference without digest has a tag");
    Digest pinned = pins.get(ref.upstream(), ref.repository(), tag);
    if (pinned != null) {
      return pinned;
    }
    TagIndex.Entry e = new TagIndex(store.root(), ref.upstream()).get(ref.repository(), tag);
    return e == null ? null : e.digest();
  }

  private void write(LayoutSink sink, Plan p) throws IOException {
    for (Descriptor b : p.blobs.values()) {
      try {
        sink.blob(b.digest(), store.blobPath(b.digest()), b.size());
      } catch (LayoutSink.VerifyException e) {
        p.problem(String.valueOf(e.getMessage()));
      }
    }
    for (Map.Entry<Digest, byte[]> m : p.manifests.entrySet()) {
      sink.bytes(m.getKey(), m.getValue());
    }
  }

  /**
   * One reference: the walk of its graph in the store, and what it needs, in writing order
   * (manifests children first).
   */
  private final class Plan implements ImageGraph.Visitor {
    final ImageRef ref;
    final Set<Platform> platforms;
    final RepositoryLinks held;
    @Nullable Descriptor top;
    final Map<Digest, byte[]> manifests = new LinkedHashMap<>();
    final Map<Digest, Descriptor> blobs = new LinkedHashMap<>();
    final List<String> problems = new ArrayList<>();
    final List<String> notes = new ArrayList<>();

    Plan(ImageRef ref, Set<Platform> platforms, RepositoryLinks held) {
      this.ref = ref;
      this.platforms = platforms;
      this.held = held;
    }

    @Override
    public CompletableFuture<ImageGraph.@Nullable Node> read(Descriptor entry, int depth) {
      byte[] body = held.served(entry.digest()) ? store.readManifest(entry.digest()) : null;
      if (body != null) {
        return CompletableFuture.completedFuture(
            ImageGraph.Node.parse(entry, body, entry.mediaType()));
      }
      // A platform asked for by name must be there; of "every platform", what is cached goes.
      if (platforms.isEmpty() || depth > 1) {
        notes.add(
            "left out "
                + (entry.platform() == null ? entry.digest() : entry.platform())
                + ": its manifest is not in the cache");
      } else {
        problems.add(
            "manifest "
                + entry.digest()
                + " ("
                + entry.platform()
                + ") is not in the cache (warm it first)");
      }
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public String holder() {
      return "the cache";
    }

    @Override
    public void problem(String message) {
      problems.add(message);
    }

    @Override
    public void leftOut(Descriptor entry) {
      notes.add("left out " + entry.platform() + " (not asked for)");
    }

    @Override
    public void blob(Descriptor b, ImageGraph.Node of) {
      long size = held.served(b.digest()) ? store.blobSize(b.digest()) : -1;
      if (size < 0) {
        problems.add(
            "blob "
                + b.digest()
                + " (of manifest "
                + of.descriptor().digest()
                + ") is not in the cache (warm it first)");
      } else if (size != b.size()) {
        problems.add(
            "blob "
                + b.digest()
                + ": the manifest says "
                + b.size()
                + " bytes, the cache has "
                + size);
      } else {
        blobs.putIfAbsent(b.digest(), b);
      }
    }

    @Override
    public void walked(ImageGraph.Node node) {
      manifests.put(node.descriptor().digest(), node.body());
    }

    ExportReport.Item item() {
      long bytes =
          blobs.values().stream().mapToLong(Descriptor::size).sum()
              + manifests.values().stream().mapToLong(b -> b.length).sum();
      Descriptor t = top;
      return new ExportReport.Item(
          ref,
          name(ref),
          t == null ? null : t.digest(),
          manifests.size(),
          blobs.size(),
          bytes,
          problems,
          notes);
    }
  }
}
