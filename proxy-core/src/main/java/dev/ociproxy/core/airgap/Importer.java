package dev.ociproxy.core.airgap;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.cache.RepositoryLinks;
import dev.ociproxy.core.cache.TagIndex;
import dev.ociproxy.core.oci.Descriptor;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.registry.Referrers;
import dev.ociproxy.core.registry.ReferrersStore;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

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
  private final ImportTarget targets;
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
      @Nullable String defaultUpstream,
      @Nullable String explicitUpstream,
      @Nullable RepositoryName repository,
      long manifestMaxBytes) {
    this.store = requireNonNull(store, "store");
    List<String> names = List.copyOf(upstreams);
    if (explicitUpstream != null && !names.contains(explicitUpstream)) {
      throw new IllegalArgumentException(
          "upstream: " + explicitUpstream + " (expected one of " + names + ")");
    }
    this.targets = new ImportTarget(names, defaultUpstream, explicitUpstream, repository);
    this.manifestMaxBytes = manifestMaxBytes;
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

  private static @Nullable JsonNode metadata(LayoutSource src, List<String> problems)
      throws IOException {
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
    ArchiveImage image = new ArchiveImage(src, store, manifestMaxBytes, where);
    Descriptor top;
    try {
      top =
          new Descriptor(
              entry.path("mediaType").asText("application/octet-stream"),
              Digest.parse(entry.path("digest").asText("")),
              entry.path("size").asLong(-1),
              null);
    } catch (RegistryException | IllegalArgumentException e) {
      image.problems.add(where + ": bad descriptor: " + e.getMessage());
      return image.item(refName, null, null, false);
    }
    image.check(top);
    ImageRef target =
        targets.of(refName, containerdName, top.digest(), image.problems, image.notes);
    ImageGraph.Node root = image.node(top.digest());
    Digest subject =
        target == null ? null : ReferrerList.subjectOfTag(target.tag(), root, image::node);
    Referrers referrers =
        subject == null || root == null
            ? null
            : ReferrerList.rebuild(subject, root, image::node, image::problem);
    if (!image.problems.isEmpty()) {
      return image.item(refName, top.digest(), null, false);
    }
    image.publish();
    if (target != null) {
      RepositoryLinks links = new RepositoryLinks(store.root(), target.upstream());
      for (Digest d : image.digests()) {
        links.add(target.repository(), d);
        links.addServed(d); // the operator's verified import stands in for the upstream serving it
      }
      tagIndex(target.upstream())
          .put(
              target.repository(),
              requireNonNull(target.tag(), "an import target has a tag"),
              new TagIndex.Entry(
                  top.digest(), image.mediaType(top.digest()), System.currentTimeMillis(), true));
      if (referrers != null) {
        // Verified like a pulled list: each entry hashed, and names the subject it is listed under.
        new ReferrersStore(store, target.upstream())
            .put(
                target.repository(),
                new ReferrersStore.Entry(referrers, System.currentTimeMillis()));
        image.notes.add(
            "the referrers of " + subject + ": " + referrers.manifests().size() + " listed");
      }
    }
    return image.item(refName, top.digest(), target, true);
  }

  private TagIndex tagIndex(String upstream) {
    return tagIndexes.computeIfAbsent(upstream, u -> new TagIndex(store.root(), u));
  }
}
