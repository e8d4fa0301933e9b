package dev.ociproxy.core.airgap;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.cache.RepositoryLinks;
import dev.ociproxy.core.cache.TagIndex;
import dev.ociproxy.core.oci.Descriptor;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.ManifestDocument;
import dev.ociproxy.core.oci.MediaTypes;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Brings images from an OCI image layout (directory or tar, ours or skopeo's) into the cache as if
 * they had been pulled. Every manifest and blob is checked against its descriptor's digest and
 * size; an image lands only when everything it needs verified, and then blobs first, manifests
 * next, the tag last, so no reader ever sees a manifest whose content is missing. Every refused
 * entry is reported on its own. The image's content is linked to the repository it is tagged in, as
 * if that upstream repository had served it. Run it against a stopped proxy's cache (or restart the
 * proxy after).
 */
public final class Importer {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final ContentStore store;
  private final List<String> upstreams;
  private final String defaultUpstream;
  private final String explicitUpstream;
  private final RepositoryName repository;
  private final long manifestMaxBytes;
  private final Map<String, TagIndex> tagIndexes = new HashMap<>();

  /**
   * @param upstreams the configured upstream names (a ref name prefixed with one of them is theirs)
   * @param defaultUpstream where unprefixed ref names go (may be null)
   * @param explicitUpstream when not null, every tag goes to this upstream (a host prefix in the
   *     ref name is dropped)
   * @param repository the repository of ref names that are a bare tag (skopeo's {@code
   *     oci-archive:FILE:v1}); null to import those by digest only
   */
  public Importer(
      ContentStore store,
      Collection<String> upstreams,
      String defaultUpstream,
      String explicitUpstream,
      RepositoryName repository,
      long manifestMaxBytes) {
    this.store = requireNonNull(store, "store");
    this.upstreams = List.copyOf(upstreams);
    this.defaultUpstream = defaultUpstream;
    this.explicitUpstream = explicitUpstream;
    this.repository = repository;
    this.manifestMaxBytes = manifestMaxBytes;
    if (explicitUpstream != null && !this.upstreams.contains(explicitUpstream)) {
      throw new IllegalArgumentException(
          "upstream: " + explicitUpstream + " (expected one of " + this.upstreams + ")");
    }
  }

  /** Imports {@code input}; never throws for bad content: refusals are in the report. */
  public ImportReport importFrom(Path input) {
    List<String> problems = new ArrayList<>();
    List<ImportReport.Item> items = new ArrayList<>();
    try (LayoutSource src = LayoutSource.open(input, store)) {
      JsonNode index = metadata(src, problems);
      if (index != null) {
        JsonNode entries = index.path("manifests");
        for (int i = 0; i < entries.size(); i++) {
          items.add(importOne(src, i, entries.get(i)));
        }
      }
    } catch (IOException | RuntimeException e) {
      problems.add(e.getMessage() == null ? e.toString() : e.getMessage());
    }
    return new ImportReport(input, problems, items);
  }

  private static JsonNode metadata(LayoutSource src, List<String> problems) throws IOException {
    byte[] layout = src.metadata(OciLayout.LAYOUT_FILE);
    if (layout == null) {
      problems.add("no oci-layout file: not an OCI image layout");
      return null;
    }
    String version = JSON.readTree(layout).path("imageLayoutVersion").asText("");
    if (!version.startsWith("1.")) {
      problems.add("oci-layout: imageLayoutVersion '" + version + "' (expected 1.x)");
      return null;
    }
    byte[] indexBytes = src.metadata(OciLayout.INDEX_FILE);
    if (indexBytes == null) {
      problems.add("no index.json: the layout names no image");
      return null;
    }
    JsonNode index = JSON.readTree(indexBytes);
    if (index == null || !index.path("manifests").isArray()) {
      problems.add("index.json has no 'manifests' list");
      return null;
    }
    return index;
  }

  private ImportReport.Item importOne(LayoutSource src, int i, JsonNode entry) throws IOException {
    String refName = entry.path("annotations").path(OciLayout.REF_NAME).asText(null);
    String containerdName = entry.path("annotations").path(OciLayout.CONTAINERD_NAME).asText(null);
    String where = "index.json entry " + i + (refName == null ? "" : " (" + refName + ")");
    Check c = new Check(src);
    Descriptor top;
    try {
      top =
          new Descriptor(
              entry.path("mediaType").asText("application/octet-stream"),
              Digest.parse(entry.path("digest").asText("")),
              entry.path("size").asLong(-1),
              null);
    } catch (RegistryException | IllegalArgumentException e) {
      c.problems.add(where + ": bad descriptor: " + e.getMessage());
      return c.item(refName, null, null, false);
    }
    c.manifest(top, where, 0);
    ImageRef target = target(refName, containerdName, top.digest(), c);
    if (!c.problems.isEmpty()) {
      return c.item(refName, top.digest(), null, false);
    }
    c.publish();
    if (target != null) {
      RepositoryLinks links = new RepositoryLinks(store.root(), target.upstream());
      // The operator's verified import stands in for the upstream serving the bytes.
      c.manifests
          .keySet()
          .forEach(
              d -> {
                links.add(target.repository(), d);
                links.addServed(d);
              });
      c.blobs
          .keySet()
          .forEach(
              d -> {
                links.add(target.repository(), d);
                links.addServed(d);
              });
      tagIndex(target.upstream())
          .put(
              target.repository(),
              target.tag(),
              new TagIndex.Entry(
                  top.digest(),
                  c.manifests.get(top.digest()).mediaType(),
                  System.currentTimeMillis(),
                  true));
    }
    return c.item(refName, top.digest(), target, true);
  }

  private TagIndex tagIndex(String upstream) {
    return tagIndexes.computeIfAbsent(upstream, u -> new TagIndex(store.root(), u));
  }

  /** The tag a ref name asks for, or null to import by digest only (said in a note). */
  private ImageRef target(String refName, String containerdName, Digest digest, Check c) {
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
      c.notes.add(
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
      c.problems.add(
          "ref name: "
              + e.getMessage()
              + (explicitUpstream == null
                  ? " (use --upstream to import it under a configured upstream)"
                  : ""));
      return null;
    }
    if (ref.digest() != null && !ref.digest().equals(digest)) {
      c.problems.add(
          "ref name " + name + " names " + ref.digest() + " but its descriptor is " + digest);
      return null;
    }
    String beforeDigest = name.indexOf('@') < 0 ? name : name.substring(0, name.indexOf('@'));
    if (beforeDigest.lastIndexOf(':') < beforeDigest.lastIndexOf('/')
        || beforeDigest.indexOf(':') < 0) {
      c.notes.add("ref name " + name + " has no tag: imported by digest only");
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

  /** One image being verified: what it needs, in publishing order, and what is wrong with it. */
  private final class Check {
    private final LayoutSource src;
    private final Map<Digest, ManifestBody> manifests = new LinkedHashMap<>();
    private final Map<Digest, Descriptor> blobs = new LinkedHashMap<>();
    private final List<String> problems = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();

    Check(LayoutSource src) {
      this.src = src;
    }

    void manifest(Descriptor d, String where, int depth) throws IOException {
      String what = where + ": manifest " + d.digest();
      long size = src.size(d.digest());
      if (size < 0) {
        problems.add(what + " is missing from the archive");
        return;
      }
      if (d.size() > manifestMaxBytes || size > manifestMaxBytes) {
        problems.add(
            what
                + ": "
                + Math.max(size, d.size())
                + " bytes, over the manifest limit of "
                + manifestMaxBytes);
        return;
      }
      if (size != d.size()) {
        problems.add(
            what + ": the descriptor says " + d.size() + " bytes, the archive has " + size);
        return;
      }
      LayoutSource.Staged s = src.stage(d.digest());
      if (!s.actual().equals(d.digest()) || s.size() != d.size()) {
        problems.add(
            what
                + ": content hashes to "
                + s.actual()
                + " ("
                + s.size()
                + " bytes), want "
                + d.digest()
                + " ("
                + d.size()
                + " bytes): tampered or corrupt");
        return;
      }
      byte[] body = Files.readAllBytes(s.file());
      if (!Digest.of(d.digest().algorithm(), body).equals(d.digest())) {
        problems.add(what + ": content changed while being imported");
        return;
      }
      ManifestDocument doc;
      try {
        String declared = MediaTypes.ALL_MANIFESTS.contains(d.mediaType()) ? d.mediaType() : null;
        doc = ManifestDocument.parse(body, declared);
      } catch (RegistryException e) {
        problems.add(what + ": " + e.getMessage());
        return;
      }
      if (doc.isIndex()) {
        if (depth >= ImageGraph.MAX_INDEX_DEPTH) {
          problems.add(
              what + ": indexes nested deeper than " + ImageGraph.MAX_INDEX_DEPTH + " levels");
          return;
        }
        int present = 0;
        for (Descriptor child : doc.manifests()) {
          if (src.size(child.digest()) < 0) {
            notes.add(
                "platform "
                    + (child.platform() == null
                        ? child.digest().toString()
                        : child.platform().toString())
                    + " is not in the archive (left out at export)");
            continue;
          }
          present++;
          manifest(child, where, depth + 1);
        }
        if (present == 0) {
          problems.add(
              what
                  + ": none of the index's "
                  + doc.manifests().size()
                  + " manifests is in the archive");
        }
      } else {
        int layer = 0;
        for (Descriptor b : doc.blobs()) {
          String role = b.mediaType().contains("config") ? "config" : "layer " + layer++;
          blob(b, where + ": " + role + " " + b.digest() + " of manifest " + d.digest());
        }
      }
      manifests.put(d.digest(), new ManifestBody(body, doc.mediaType()));
    }

    void blob(Descriptor b, String what) throws IOException {
      if (blobs.containsKey(b.digest())) {
        return;
      }
      long size = src.size(b.digest());
      if (size < 0) {
        if (b.isForeign()) {
          notes.add(what + " is a foreign layer, not in the archive");
        } else {
          problems.add(what + " is missing from the archive");
        }
        return;
      }
      if (size != b.size()) {
        problems.add(what + ": the manifest says " + b.size() + " bytes, the archive has " + size);
        return;
      }
      LayoutSource.Staged s = src.stage(b.digest());
      if (!s.actual().equals(b.digest()) || s.size() != b.size()) {
        problems.add(
            what
                + ": content hashes to "
                + s.actual()
                + " ("
                + s.size()
                + " bytes), want "
                + b.digest()
                + ": tampered or corrupt");
        return;
      }
      blobs.put(b.digest(), b);
    }

    /** Moves the verified image into the store: blobs, then manifests (children first). */
    void publish() throws IOException {
      for (Digest d : blobs.keySet()) {
        LayoutSource.Staged s = src.stage(d);
        if (s.temporary()) {
          store.publish(s.file(), store.blobPath(d));
          src.published(d);
        }
      }
      for (Map.Entry<Digest, ManifestBody> m : manifests.entrySet()) {
        store.putManifest(m.getKey(), m.getValue().body());
      }
    }

    ImportReport.Item item(String name, Digest digest, ImageRef tagged, boolean imported) {
      long bytes =
          blobs.values().stream().mapToLong(Descriptor::size).sum()
              + manifests.values().stream().mapToLong(m -> m.body().length).sum();
      return new ImportReport.Item(
          name, digest, tagged, imported, manifests.size(), blobs.size(), bytes, problems, notes);
    }
  }

  @SuppressWarnings("ArrayRecordComponent") // bytes to write, never compared or hashed
  private record ManifestBody(byte[] body, String mediaType) {}
}
