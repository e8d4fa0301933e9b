package dev.ociproxy.core.cache;

import java.io.File;
import java.nio.file.Path;

/**
 * Whether a file is there, and its size, without an exception when it is not. On Java 17 {@link
 * java.nio.file.Files#exists} and {@link java.nio.file.Files#size} throw and catch (or throw) one
 * for a missing file, with a stack trace, and on the cold path a missing file is the usual answer:
 * every blob the proxy has not cached yet. {@link File} asks the same {@code stat} and returns a
 * value.
 */
public final class FileChecks {
  private FileChecks() {}

  /** True when {@code p} exists (a file or a directory). */
  public static boolean exists(Path p) {
    return p.toFile().exists();
  }

  /** The size of the regular file at {@code p}, or -1 when there is none. */
  public static long size(Path p) {
    File f = p.toFile();
    long n = f.length(); // 0 when missing, so only an empty or missing file costs a second stat
    return n > 0 || f.isFile() ? n : -1;
  }
}
