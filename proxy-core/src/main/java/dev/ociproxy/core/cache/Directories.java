package dev.ociproxy.core.cache;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Creating the directory of a file about to be written, where it is nearly always there. */
public final class Directories {
  private Directories() {}

  /**
   * Creates {@code file}'s directory if it is missing. Checked first because it almost always
   * exists, and {@link Files#createDirectories} throws and catches two exceptions to find that out
   * (seen with {@code -Xlog:exceptions} on every cold blob).
   */
  public static void ensureParent(Path file) throws IOException {
    Path dir = requireNonNull(file.getParent(), "parent");
    if (!Files.isDirectory(dir)) {
      Files.createDirectories(dir);
    }
  }
}
