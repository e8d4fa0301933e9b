package dev.ociproxy.it.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A small npm project committed under {@code proxy-it/<name>} (its {@code package.json}, {@code
 * package-lock.json} and scripts) that drives a client from the npm registry. It is copied to
 * {@code target/<name>} and installed there once per build with {@code npm ci}, so the versions are
 * the locked ones and nothing lands in the source tree.
 */
public final class NodeProject {
  private static final Map<String, Path> INSTALLED =
      new HashMap<>(); // guarded by NodeProject.class

  private NodeProject() {}

  public static Availability availability() {
    return Commands.requireBinaries("nodejs npm", "node", "npm");
  }

  /**
   * The installed copy of {@code proxy-it/<name>}: {@code scripts} besides the package files, and
   * {@code node_modules} once {@code installedPackage} is in it.
   */
  public static synchronized Path installed(
      String name, String installedPackage, List<String> scripts) {
    Path done = INSTALLED.get(name);
    if (done != null) {
      return done;
    }
    Path src = Path.of(System.getProperty("basedir", "")).toAbsolutePath().resolve(name);
    Path dir = src.getParent().resolve("target").resolve(name);
    try {
      Files.createDirectories(dir);
      for (String f : concat(List.of("package.json", "package-lock.json"), scripts)) {
        Files.copy(src.resolve(f), dir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
      }
      if (!Files.exists(dir.resolve("node_modules").resolve(installedPackage))) {
        CommandResult r =
            Commands.run(
                List.of("npm", "ci", "--no-audit", "--no-fund", "--prefix", dir.toString()),
                Map.of(),
                Duration.ofMinutes(5));
        if (!r.succeeded()) {
          throw new AssertionError("npm ci in " + dir + " failed: " + r.describe());
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    INSTALLED.put(name, dir);
    return dir;
  }

  private static List<String> concat(List<String> a, List<String> b) {
    return Stream.concat(a.stream(), b.stream()).toList();
  }
}
