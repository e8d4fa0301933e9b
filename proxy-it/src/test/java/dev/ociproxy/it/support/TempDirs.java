package dev.ociproxy.it.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Private temporary directories for the harness's processes, and the directory their logs go to.
 *
 * <p>Directories are made under {@code /tmp} (short paths: unix socket paths must stay under 108
 * bytes) and deleted when their owner closes, unless {@code -Dharness.keep=true}. Logs go to {@code
 * -Dharness.logDir} (default {@code target/it-logs}) and are kept so failures can be read later.
 */
public final class TempDirs {

  private TempDirs() {}

  /** Creates a new empty private directory whose name starts with {@code prefix}. */
  public static Path create(String prefix) {
    try {
      return Files.createTempDirectory(
          Path.of(System.getProperty("harness.tmpDir", "/tmp")), "it-" + prefix + "-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Returns a fresh log file path {@code <logDir>/<name>-<n>.log}; the file is not created. */
  public static Path logFile(String name) {
    Path dir = Path.of(System.getProperty("harness.logDir", "target/it-logs")).toAbsolutePath();
    try {
      Files.createDirectories(dir);
      return Files.createTempFile(dir, name + "-", ".log");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Deletes {@code dir} recursively unless {@code -Dharness.keep=true}; failures are reported, not
   * thrown.
   */
  public static void deleteRecursively(Path dir) {
    if (dir == null || Boolean.getBoolean("harness.keep") || !Files.exists(dir)) {
      return;
    }
    try {
      Files.walkFileTree(
          dir,
          new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs)
                throws IOException {
              deleteIfExists(file);
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException exc) throws IOException {
              deleteIfExists(d);
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException exc) {
              return FileVisitResult.CONTINUE;
            }
          });
    } catch (IOException e) {
      System.err.println("[TempDirs] could not delete " + dir + ": " + e);
    }
  }

  private static void deleteIfExists(Path p) throws IOException {
    try {
      Files.deleteIfExists(p);
    } catch (NoSuchFileException ignored) {
      // raced with the owner's own cleanup
    }
  }
}
