package dev.ociproxy.core.airgap;

import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.cache.RepositoryLinks;
import dev.ociproxy.core.cache.TagIndex;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.MediaTypes;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.testing.HostileRegistry;
import dev.ociproxy.testing.OciJson;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Test images: an OCI index over linux/amd64 and linux/arm64, each with a config and two layers,
 * put into a {@link HostileRegistry} (as an upstream) or straight into a {@link ContentStore} (as
 * if pulled).
 */
final class Images {
  static final String AMD64 = "amd64";
  static final String ARM64 = "arm64";

  /** One platform's manifest and the blobs it names. */
  record PlatformImage(
      String arch, Digest manifest, byte[] manifestBytes, Map<Digest, byte[]> blobs) {}

  /** A whole image: the index, its bytes and the platforms. */
  record Image(
      String repo, String tag, Digest index, byte[] indexBytes, List<PlatformImage> platforms) {
    PlatformImage platform(String arch) {
      return platforms.stream().filter(p -> p.arch().equals(arch)).findFirst().orElseThrow();
    }

    Set<Digest> manifests() {
      Set<Digest> s = new LinkedHashSet<>();
      s.add(index);
      platforms.forEach(p -> s.add(p.manifest()));
      return s;
    }

    Set<Digest> blobs() {
      Set<Digest> s = new LinkedHashSet<>();
      platforms.forEach(p -> s.addAll(p.blobs().keySet()));
      return s;
    }

    /** The first layer of {@code arch} (not the config). */
    Digest firstLayer(String arch) {
      return new ArrayList<>(platform(arch).blobs().keySet()).get(1);
    }
  }

  private Images() {}

  static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  /** Builds a two-platform image; {@code seed} makes it unique. */
  static Image multiArch(String repo, String tag, long seed) {
    List<PlatformImage> platforms = new ArrayList<>();
    List<OciJson.Descriptor> entries = new ArrayList<>();
    for (String arch : List.of(AMD64, ARM64)) {
      byte[] config = OciJson.config(repo + ":" + tag + " " + arch + " " + seed);
      byte[] l1 = random(3000 + (int) (seed % 100), seed * 31 + arch.hashCode());
      byte[] l2 = random(70_000, seed * 17 + arch.hashCode());
      byte[] manifest =
          OciJson.manifest(
              OciJson.descriptor(OciJson.IMAGE_CONFIG, config),
              OciJson.layer(l1),
              OciJson.layer(l2));
      Map<Digest, byte[]> blobs = new LinkedHashMap<>();
      blobs.put(Digest.sha256(config), config);
      blobs.put(Digest.sha256(l1), l1);
      blobs.put(Digest.sha256(l2), l2);
      platforms.add(new PlatformImage(arch, Digest.sha256(manifest), manifest, blobs));
      entries.add(OciJson.descriptor(OciJson.IMAGE_MANIFEST, manifest).withPlatform("linux", arch));
    }
    byte[] index = OciJson.index(entries.toArray(OciJson.Descriptor[]::new));
    return new Image(repo, tag, Digest.sha256(index), index, platforms);
  }

  /** Stores the image in the upstream, the index tagged. */
  static Image push(HostileRegistry up, Image img) {
    for (PlatformImage p : img.platforms()) {
      p.blobs().values().forEach(b -> up.putBlob(img.repo(), b));
      up.putManifest(img.repo(), OciJson.IMAGE_MANIFEST, p.manifestBytes());
    }
    up.putManifest(img.repo(), img.tag(), OciJson.IMAGE_INDEX, img.indexBytes());
    return img;
  }

  /** Stores the image (all platforms) in {@code store} and tags it for {@code upstream}. */
  static Image cache(ContentStore store, String upstream, Image img) {
    RepositoryLinks links = new RepositoryLinks(store.root(), upstream);
    RepositoryName repo = new RepositoryName(img.repo());
    img.manifests()
        .forEach(
            d -> {
              links.add(repo, d);
              links.addServed(d); // as a pull through this upstream would have
            });
    img.blobs()
        .forEach(
            d -> {
              links.add(repo, d);
              links.addServed(d);
            });
    try {
      for (PlatformImage p : img.platforms()) {
        for (Map.Entry<Digest, byte[]> b : p.blobs().entrySet()) {
          Path tmp = store.newTempFile();
          Files.write(tmp, b.getValue());
          store.publish(tmp, store.blobPath(b.getKey()));
        }
        store.putManifest(p.manifest(), p.manifestBytes());
      }
      store.putManifest(img.index(), img.indexBytes());
      new TagIndex(store.root(), upstream)
          .put(
              new RepositoryName(img.repo()),
              new Tag(img.tag()),
              new TagIndex.Entry(
                  img.index(), MediaTypes.OCI_INDEX, System.currentTimeMillis(), true));
      return img;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Every regular file under {@code dir} (relative names), for "the cache is clean" checks. */
  static List<String> files(Path dir) {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(Files::isRegularFile)
          .map(p -> dir.relativize(p).toString())
          .sorted()
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A pin file parser for core tests (the server's reads YAML too). */
  static Map<String, String> parseJsonPins(byte[] content) throws IOException {
    Map<String, String> out = new LinkedHashMap<>();
    new com.fasterxml.jackson.databind.ObjectMapper()
        .readTree(content)
        .fields()
        .forEachRemaining(e -> out.put(e.getKey(), e.getValue().asText()));
    return out;
  }
}
