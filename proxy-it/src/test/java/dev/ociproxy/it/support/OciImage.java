package dev.ociproxy.it.support;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * An image that {@link OciImages} wrote into an OCI image layout: every digest a client that pulls
 * it must end up storing.
 *
 * @param layout the OCI layout directory ({@code oci:<layout>:<tag>} for skopeo)
 * @param tag the {@code org.opencontainers.image.ref.name} of the image in the layout
 * @param index the image index when multi-arch, else empty
 * @param images one entry per platform (exactly one for a single-arch image)
 */
public record OciImage(Path layout, String tag, Optional<Blob> index, List<PlatformImage> images) {

  /** A content descriptor: media type, digest ({@code sha256:...}) and size in bytes. */
  public record Blob(String mediaType, String digest, long size) {}

  /**
   * One platform's manifest, config and layers; {@code diffIds} are the uncompressed layer digests.
   */
  public record PlatformImage(
      Platform platform, Blob manifest, Blob config, List<Blob> layers, List<String> diffIds) {

    /** Config and layer digests: the blobs of this image. */
    public Set<String> blobDigests() {
      Set<String> s = new LinkedHashSet<>();
      s.add(config.digest());
      layers.forEach(l -> s.add(l.digest()));
      return s;
    }

    /** Manifest, config and layer digests. */
    public Set<String> allDigests() {
      Set<String> s = new LinkedHashSet<>();
      s.add(manifest.digest());
      s.addAll(blobDigests());
      return s;
    }
  }

  public OciImage {
    requireNonNull(layout, "layout");
    requireNonNull(tag, "tag");
    requireNonNull(index, "index");
    images = List.copyOf(images);
    if (images.isEmpty() || index.isEmpty() && images.size() != 1) {
      throw new IllegalArgumentException(
          "images: " + images.size() + " (expected: 1 without an index, >= 1 with)");
    }
  }

  public boolean isIndex() {
    return index.isPresent();
  }

  /** The descriptor the tag points at: the index for a multi-arch image, else the manifest. */
  public Blob top() {
    return index.orElseGet(() -> images.get(0).manifest());
  }

  /** The digest the tag resolves to (index digest for multi-arch, manifest digest otherwise). */
  public String digest() {
    return top().digest();
  }

  /** The only image of a single-arch image. */
  public PlatformImage image() {
    if (images.size() != 1) {
      throw new IllegalStateException(
          "multi-arch image: name a platform (have " + platforms() + ")");
    }
    return images.get(0);
  }

  /** The manifest digest of a single-arch image. */
  public String manifestDigest() {
    return image().manifest().digest();
  }

  public PlatformImage image(Platform platform) {
    return images.stream()
        .filter(i -> i.platform().equals(platform))
        .findFirst()
        .orElseThrow(
            () ->
                new IllegalArgumentException(
                    "platform: " + platform + " (expected one of " + platforms() + ")"));
  }

  public List<Platform> platforms() {
    return images.stream().map(PlatformImage::platform).toList();
  }

  /** Config and layer digests of every platform. */
  public Set<String> blobDigests() {
    Set<String> s = new LinkedHashSet<>();
    images.forEach(i -> s.addAll(i.blobDigests()));
    return s;
  }

  /** Index (if any) and every manifest digest. */
  public Set<String> manifestDigests() {
    Set<String> s = new LinkedHashSet<>();
    index.ifPresent(i -> s.add(i.digest()));
    images.forEach(i -> s.add(i.manifest().digest()));
    return s;
  }

  /** Every digest of the image: index, manifests, configs, layers. */
  public Set<String> allDigests() {
    Set<String> s = manifestDigests();
    s.addAll(blobDigests());
    return s;
  }

  /**
   * What a client that pulls only {@code platform} stores: the index (if any) and that platform's
   * image.
   */
  public Set<String> digestsFor(Platform platform) {
    Set<String> s = new LinkedHashSet<>();
    index.ifPresent(i -> s.add(i.digest()));
    s.addAll(image(platform).allDigests());
    return s;
  }

  /** Sum of all config and layer sizes. */
  public long blobBytes() {
    return images.stream()
        .mapToLong(i -> i.config().size() + i.layers().stream().mapToLong(Blob::size).sum())
        .sum();
  }

  /** The file holding {@code digest} in the layout (to read or to tamper with). */
  public Path blobPath(String digest) {
    String[] parts = digest.split(":", 2);
    return layout.resolve("blobs").resolve(parts[0]).resolve(parts[1]);
  }

  /** Returns {@code oci:<layout>:<tag>}, the skopeo source reference. */
  public String ociReference() {
    return "oci:" + layout + ":" + tag;
  }
}
