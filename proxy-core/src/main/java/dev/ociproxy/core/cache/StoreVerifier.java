package dev.ociproxy.core.cache;

import dev.ociproxy.core.oci.Algorithm;
import dev.ociproxy.core.oci.Digest;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Re-hashes the store ({@code cache.verifyOnStart}) and quarantines files whose content does not
 * match their name: disk corruption or tampering must not be served as verified content.
 */
final class StoreVerifier implements Runnable {
  private static final Logger log = LoggerFactory.getLogger(StoreVerifier.class);

  private final Path root;
  private final CacheIndex index;

  StoreVerifier(Path root, CacheIndex index) {
    this.root = root;
    this.index = index;
  }

  @Override
  public void run() {
    int checked = 0;
    int quarantined = 0;
    for (String kind : List.of("blobs", "manifests")) {
      Path base = root.resolve(kind);
      if (!Files.isDirectory(base)) {
        continue;
      }
      List<Path> files;
      try (Stream<Path> s = Files.walk(base)) {
        files = s.filter(Files::isRegularFile).toList();
      } catch (IOException e) {
        log.warn("cannot walk {}: {}", base, e.toString());
        continue;
      }
      for (Path f : files) {
        checked++;
        if (!matchesName(base, f)) {
          quarantine(kind, f);
          quarantined++;
        }
      }
    }
    log.info("verified cache: {} files checked, {} quarantined", checked, quarantined);
  }

  private static boolean matchesName(Path base, Path f) {
    Path rel = base.relativize(f);
    if (rel.getNameCount() != 3) {
      return false;
    }
    Digest expected;
    try {
      expected = Digest.parse(rel.getName(0) + ":" + rel.getName(2));
    } catch (RuntimeException e) {
      return false;
    }
    Algorithm alg = expected.algorithm();
    MessageDigest md = alg.newMessageDigest();
    byte[] buf = new byte[1 << 20];
    try (InputStream in = Files.newInputStream(f)) {
      int n;
      while ((n = in.read(buf)) > 0) {
        md.update(buf, 0, n);
      }
    } catch (IOException e) {
      return false;
    }
    return HexFormat.of().formatHex(md.digest()).equals(expected.hex());
  }

  private void quarantine(String kind, Path f) {
    Path dest =
        root.resolve("quarantine").resolve(kind + "-" + f.getFileName() + "-" + System.nanoTime());
    try {
      Files.createDirectories(dest.getParent());
      Files.move(f, dest, StandardCopyOption.ATOMIC_MOVE);
      index.removed(f);
      log.warn("quarantined {}: its content does not match its digest (moved to {})", f, dest);
    } catch (IOException e) {
      log.error("could not quarantine {}: {}", f, e.toString());
    }
  }
}
