package dev.ociproxy.it.support;

import static java.util.Objects.requireNonNull;

import dev.ociproxy.testing.HostileRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;

/**
 * Loads an {@link OciImage} (real tar layers a client can unpack) into a {@link HostileRegistry},
 * so a real client pulls a valid image from it until a lie is switched on for one of its digests.
 */
public final class HostileImages {

  private HostileImages() {}

  /**
   * Stores every blob and manifest of {@code image} in {@code repo}: platform manifests untagged,
   * the top manifest (index or single manifest) tagged {@link OciImage#tag()}.
   */
  public static void put(HostileRegistry registry, OciImage image, String repo) {
    requireNonNull(registry, "registry");
    requireNonNull(repo, "repo");
    for (String blob : image.blobDigests()) {
      String stored = registry.putBlob(repo, read(image, blob));
      check(blob, stored);
    }
    for (OciImage.PlatformImage p : image.images()) {
      if (image.isIndex()) {
        OciImage.Blob m = p.manifest();
        check(m.digest(), registry.putManifest(repo, m.mediaType(), read(image, m.digest())));
      }
    }
    OciImage.Blob top = image.top();
    check(
        top.digest(),
        registry.putManifest(repo, image.tag(), top.mediaType(), read(image, top.digest())));
  }

  private static byte[] read(OciImage image, String digest) {
    try {
      return Files.readAllBytes(image.blobPath(digest));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void check(String want, String got) {
    if (!want.equals(got)) {
      throw new IllegalStateException("stored digest: got " + got + ", want " + want);
    }
  }
}
