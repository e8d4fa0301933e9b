package dev.ociproxy.core.airgap;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.cache.RepositoryLinks;
import dev.ociproxy.core.cache.TagIndex;
import dev.ociproxy.core.oci.Descriptor;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.ManifestDocument;
import dev.ociproxy.core.oci.MediaTypes;
import dev.ociproxy.core.oci.RegistryException;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes images from the cache as an OCI image layout, a directory or a single tar of one, that
 * skopeo ({@code oci:DIR:NAME}, {@code oci-archive:FILE:NAME}), umoci and our own {@link Importer}
 * read. Each image is named by its full reference ({@code upstream/repo:tag}) in the {@code
 * org.opencontainers.image.ref.name} annotation. Bytes are re-hashed as they are copied out of the
 * cache, so a disk fault cannot travel across the gap. Reads the store only; safe while a proxy
 * serves from it.
 */
public final class Exporter {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private final ContentStore store;
  private final Pins pins;

  /**
   * @param pins pinned tags export their pin, whatever the tag index says
   */
  public Exporter(ContentStore store, Pins pins) {
    this.store = requireNonNull(store, "store");
    this.pins = requireNonNull(pins, "pins");
  }

  /** What one reference needs: the top descriptor, its manifests and blobs, in writing order. */
  private record Plan(
      ImageRef ref,
      String name,
      Descriptor top,
      Map<Digest, byte[]> manifests,
      Map<Digest, Descriptor> blobs,
      List<String> problems,
      List<String> notes) {}

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
      plans.add(plan(ref, platforms));
    }
    boolean tar = output.getFileName().toString().endsWith(".tar");
    List<ExportReport.Item> items = new ArrayList<>();
    try (Sink sink = tar ? new TarSink(output) : new DirSink(output)) {
      List<ObjectNode> entries = new ArrayList<>();
      for (Plan p : plans) {
        if (p.problems().isEmpty()) {
          write(sink, p);
        }
        if (p.problems().isEmpty()) {
          entries.add(indexEntry(p));
        }
        long bytes =
            p.blobs().values().stream().mapToLong(Descriptor::size).sum()
                + p.manifests().values().stream().mapToLong(b -> b.length).sum();
        items.add(
            new ExportReport.Item(
                p.ref(),
                p.name(),
                p.top() == null ? null : p.top().digest(),
                p.manifests().size(),
                p.blobs().size(),
                bytes,
                p.problems(),
                p.notes()));
      }
      sink.finish(entries);
    }
    return new ExportReport(output, items);
  }

  private Plan plan(ImageRef ref, Set<Platform> platforms) {
    Plan p =
        new Plan(
            ref,
            name(ref),
            null,
            new LinkedHashMap<>(),
            new LinkedHashMap<>(),
            new ArrayList<>(),
            new ArrayList<>());
    Digest top = ref.digest();
    if (top == null) {
      top = pins.get(ref.upstream(), ref.repository(), ref.tag());
    }
    if (top == null) {
      TagIndex.Entry e =
          new TagIndex(store.root(), ref.upstream()).get(ref.repository(), ref.tag());
      top = e == null ? null : e.digest();
    }
    if (top == null) {
      p.problems().add("not in the cache: no record of tag " + ref + " (warm or pull it first)");
      return p;
    }
    // Only what this upstream served itself is its content: the store is shared by all upstreams.
    RepositoryLinks held = new RepositoryLinks(store.root(), ref.upstream());
    byte[] body = held.served(top) ? store.readManifest(top) : null;
    if (body == null) {
      p.problems().add("manifest " + top + " is not in the cache (warm it first)");
      return p;
    }
    ManifestDocument doc;
    try {
      doc = ManifestDocument.parse(body, null);
    } catch (RegistryException e) {
      p.problems().add("manifest " + top + ": " + e.getMessage());
      return p;
    }
    Descriptor topDescriptor = new Descriptor(doc.mediaType(), top, body.length, null);
    Plan planned =
        new Plan(ref, p.name(), topDescriptor, p.manifests(), p.blobs(), p.problems(), p.notes());
    collect(planned, held, topDescriptor, body, doc, platforms, 0);
    return planned;
  }

  private void collect(
      Plan p,
      RepositoryLinks held,
      Descriptor d,
      byte[] body,
      ManifestDocument doc,
      Set<Platform> platforms,
      int depth) {
    if (doc.isIndex()) {
      if (depth >= ImageGraph.MAX_INDEX_DEPTH) {
        p.problems()
            .add(
                "index "
                    + d.digest()
                    + ": nested deeper than "
                    + ImageGraph.MAX_INDEX_DEPTH
                    + " levels");
        return;
      }
      int included = 0;
      for (Descriptor c : doc.manifests()) {
        boolean asked = ImageGraph.wanted(c, depth, platforms);
        if (!asked) {
          p.notes().add("left out " + c.platform() + " (not asked for)");
          continue;
        }
        byte[] child = held.served(c.digest()) ? store.readManifest(c.digest()) : null;
        if (child == null) {
          if (platforms.isEmpty() || depth > 0) {
            p.notes()
                .add(
                    "left out "
                        + (c.platform() == null ? c.digest().toString() : c.platform().toString())
                        + ": its manifest is not in the cache");
          } else {
            p.problems()
                .add(
                    "manifest "
                        + c.digest()
                        + " ("
                        + c.platform()
                        + ") is not in the cache (warm it first)");
          }
          continue;
        }
        if (child.length != c.size()) {
          p.problems()
              .add(
                  "manifest "
                      + c.digest()
                      + ": the index says "
                      + c.size()
                      + " bytes, it has "
                      + child.length);
          continue;
        }
        try {
          collect(
              p,
              held,
              c,
              child,
              ManifestDocument.parse(child, c.mediaType()),
              platforms,
              depth + 1);
          included++;
        } catch (RegistryException e) {
          p.problems().add("manifest " + c.digest() + ": " + e.getMessage());
        }
      }
      if (included == 0 && p.problems().isEmpty()) {
        p.problems()
            .add(
                "index " + d.digest() + ": none of its manifests is in the cache for " + platforms);
      }
    } else {
      for (Descriptor b : doc.blobs()) {
        if (b.isForeign()) {
          continue;
        }
        long size = held.served(b.digest()) ? store.blobSize(b.digest()) : -1;
        if (size < 0) {
          p.problems()
              .add(
                  "blob "
                      + b.digest()
                      + " (of manifest "
                      + d.digest()
                      + ") is not in the cache (warm it first)");
        } else if (size != b.size()) {
          p.problems()
              .add(
                  "blob "
                      + b.digest()
                      + ": the manifest says "
                      + b.size()
                      + " bytes, the cache has "
                      + size);
        } else {
          p.blobs().putIfAbsent(b.digest(), b);
        }
      }
    }
    p.manifests().put(d.digest(), body);
  }

  private void write(Sink sink, Plan p) throws IOException {
    for (Descriptor b : p.blobs().values()) {
      try {
        sink.blob(b.digest(), store.blobPath(b.digest()), b.size());
      } catch (VerifyException e) {
        p.problems().add(e.getMessage());
      }
    }
    for (Map.Entry<Digest, byte[]> m : p.manifests().entrySet()) {
      sink.bytes(m.getKey(), m.getValue());
    }
  }

  private static ObjectNode indexEntry(Plan p) {
    ObjectNode e =
        JSON.createObjectNode()
            .put("mediaType", p.top().mediaType())
            .put("digest", p.top().digest().toString())
            .put("size", p.top().size());
    e.putObject("annotations").put(OciLayout.REF_NAME, p.name());
    return e;
  }

  /** The ref name of an exported image: the full reference, so an import knows its upstream. */
  static String name(ImageRef ref) {
    return ref.toString();
  }

  private static byte[] indexJson(List<JsonNode> manifests) throws IOException {
    ObjectNode root =
        JSON.createObjectNode().put("schemaVersion", 2).put("mediaType", MediaTypes.OCI_INDEX);
    ArrayNode arr = root.putArray("manifests");
    manifests.forEach(arr::add);
    return JSON.writeValueAsBytes(root);
  }

  /** A cached file whose bytes no longer match its name (disk fault); the image is not exported. */
  private static final class VerifyException extends IOException {
    private static final long serialVersionUID = 1L;

    VerifyException(String message) {
      super(message);
    }
  }

  private static void verified(OciLayout.Copied c, Digest d, long size) throws VerifyException {
    if (!c.actual().equals(d) || c.size() != size) {
      throw new VerifyException(
          "blob "
              + d
              + " in the cache hashes to "
              + c.actual()
              + " ("
              + c.size()
              + " bytes), want "
              + d
              + " ("
              + size
              + " bytes); run the proxy with cache.verifyOnStart");
    }
  }

  /** Where the layout goes. */
  private interface Sink extends AutoCloseable {
    void blob(Digest d, Path from, long size) throws IOException;

    void bytes(Digest d, byte[] content) throws IOException;

    void finish(List<ObjectNode> entries) throws IOException;

    @Override
    void close() throws IOException;
  }

  /** A layout directory; writes each file under a temporary name and renames it into place. */
  private static final class DirSink implements Sink {
    private final Path root;

    DirSink(Path root) throws IOException {
      this.root = root;
      if (Files.exists(root) && !Files.isDirectory(root)) {
        throw new IOException(
            "--output "
                + root
                + " exists and is not a directory (use a name ending in .tar for an archive)");
      }
      if (Files.isDirectory(root) && !Files.exists(root.resolve(OciLayout.LAYOUT_FILE))) {
        try (var s = Files.list(root)) {
          if (s.findAny().isPresent()) {
            throw new IOException(
                "--output "
                    + root
                    + " is a non-empty directory without an OCI layout; refusing to write into it");
          }
        }
      }
      Files.createDirectories(root);
      Files.writeString(root.resolve(OciLayout.LAYOUT_FILE), OciLayout.LAYOUT_CONTENT);
    }

    @Override
    public void blob(Digest d, Path from, long size) throws IOException {
      Path target = root.resolve(OciLayout.blobPath(d));
      if (Files.isRegularFile(target) && Files.size(target) == size) {
        return; // content-addressed: already there from an earlier export
      }
      Files.createDirectories(target.getParent());
      Path tmp = target.resolveSibling("." + d.hex() + ".part");
      try (InputStream in = Files.newInputStream(from);
          OutputStream out = Files.newOutputStream(tmp)) {
        verified(OciLayout.copy(in, out, d), d, size);
      } catch (IOException e) {
        Files.deleteIfExists(tmp);
        throw e;
      }
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    @Override
    public void bytes(Digest d, byte[] content) throws IOException {
      Path target = root.resolve(OciLayout.blobPath(d));
      Files.createDirectories(target.getParent());
      Path tmp = target.resolveSibling("." + d.hex() + ".part");
      Files.write(tmp, content);
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    @Override
    public void finish(List<ObjectNode> entries) throws IOException {
      Set<String> names = new HashSet<>();
      entries.forEach(e -> names.add(e.path("annotations").path(OciLayout.REF_NAME).asText()));
      List<JsonNode> all = new ArrayList<>();
      Path index = root.resolve(OciLayout.INDEX_FILE);
      if (Files.exists(index)) {
        for (JsonNode old : JSON.readTree(index.toFile()).path("manifests")) {
          if (!names.contains(old.path("annotations").path(OciLayout.REF_NAME).asText(null))) {
            all.add(old);
          }
        }
      }
      all.addAll(entries);
      Path tmp = root.resolve("." + OciLayout.INDEX_FILE + ".part");
      Files.write(tmp, indexJson(all));
      Files.move(tmp, index, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    @Override
    public void close() {}
  }

  /**
   * A tar archive, written to {@code NAME.part} and renamed when complete, so a failed export
   * leaves no half archive under the real name. {@code index.json} comes last and lists only images
   * whose every blob was written.
   */
  private static final class TarSink implements Sink {
    private final Path target;
    private final Path part;
    private final TarWriter tar;
    private final Set<Digest> written = new HashSet<>();
    private final Set<String> dirs = new HashSet<>();
    private boolean finished;

    TarSink(Path target) throws IOException {
      this.target = target;
      Path parent = target.toAbsolutePath().getParent();
      Files.createDirectories(parent);
      this.part = parent.resolve(target.getFileName() + ".part");
      this.tar = new TarWriter(new BufferedOutputStream(Files.newOutputStream(part), 1 << 16));
      tar.file(OciLayout.LAYOUT_FILE, OciLayout.LAYOUT_CONTENT.getBytes(StandardCharsets.UTF_8));
      tar.directory("blobs");
    }

    private void dirFor(Digest d) throws IOException {
      String dir = "blobs/" + d.algorithm().id();
      if (dirs.add(dir)) {
        tar.directory(dir);
      }
    }

    @Override
    public void blob(Digest d, Path from, long size) throws IOException {
      if (!written.add(d)) {
        return;
      }
      dirFor(d);
      try (InputStream in = Files.newInputStream(from);
          OutputStream entry = tar.file(OciLayout.blobPath(d), size)) {
        verified(OciLayout.copy(in, entry, d), d, size);
      } catch (VerifyException e) {
        // The bad bytes are already in the .part file: drop the whole archive rather than ship
        // them.
        throw new IOException(e.getMessage() + "; no archive written", e);
      }
    }

    @Override
    public void bytes(Digest d, byte[] content) throws IOException {
      if (written.add(d)) {
        dirFor(d);
        tar.file(OciLayout.blobPath(d), content);
      }
    }

    @Override
    public void finish(List<ObjectNode> entries) throws IOException {
      tar.file(OciLayout.INDEX_FILE, indexJson(new ArrayList<>(entries)));
      tar.finish();
      finished = true;
    }

    @Override
    public void close() throws IOException {
      tar.close();
      if (finished) {
        Files.move(
            part, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } else {
        Files.deleteIfExists(part);
      }
    }
  }
}
