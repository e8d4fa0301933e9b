package dev.ociproxy.it.support.docker;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs docker/test-image.sh and reports its outcome: passed, failed, or skipped (exit 77).
 *
 * <p>On timeout the script gets SIGTERM first, because its EXIT trap is what stops the container,
 * the upstream and the private dockerd by pid and unmounts below its temp dir; only if it is still
 * alive after {@link #CLEANUP_GRACE} are it and its descendants killed.
 */
public final class ImageTestScript {

  /** Exit code of test-image.sh for "this machine cannot run the test". */
  static final int SKIP = 77;

  /** A cold run debootstraps the base image: one to four minutes on a busy 2-core machine. */
  static final Duration TIMEOUT = Duration.ofMinutes(15);

  static final Duration CLEANUP_GRACE = Duration.ofSeconds(90);

  private final Path script;

  private ImageTestScript(Path script) {
    this.script = script;
  }

  /**
   * Finds docker/test-image.sh from the working directory (proxy-it under failsafe, or the root).
   */
  public static ImageTestScript locate() {
    Path cwd = Path.of("").toAbsolutePath();
    for (Path dir = cwd; dir != null; dir = dir.getParent()) {
      Path candidate = dir.resolve("docker/test-image.sh");
      if (Files.isRegularFile(candidate)) {
        return new ImageTestScript(candidate);
      }
    }
    throw new IllegalStateException("docker/test-image.sh not found above " + cwd);
  }

  /** Runs the script against {@code jar}, writing its combined output to {@code log}. */
  public Result run(Path jar, Path log) throws IOException, InterruptedException {
    requireNonNull(jar, "jar");
    requireNonNull(log, "log");
    ProcessBuilder builder =
        new ProcessBuilder(List.of("bash", script.toString()))
            .directory(script.getParent().getParent().toFile())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile());
    builder.environment().put("PROXY_JAR", jar.toAbsolutePath().toString());
    Process process = builder.start();
    if (!process.waitFor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
      process.destroy();
      if (!process.waitFor(CLEANUP_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly().waitFor();
      }
      throw new AssertionError(
          "docker/test-image.sh took longer than " + TIMEOUT + ":\n" + read(log));
    }
    return new Result(process.exitValue(), read(log));
  }

  private static String read(Path log) throws IOException {
    return Files.readString(log, StandardCharsets.UTF_8);
  }

  /** The script's exit code and combined output. */
  public record Result(int exitCode, String output) {

    public Result {
      requireNonNull(output, "output");
    }

    public boolean skipped() {
      return exitCode == SKIP;
    }

    /** The script's "SKIP: ..." line, or the whole output when it printed none. */
    public String skipReason() {
      return output
          .lines()
          .filter(line -> line.contains("SKIP: "))
          .map(line -> line.substring(line.indexOf("SKIP: ") + "SKIP: ".length()))
          .reduce((first, last) -> last)
          .orElse(output);
    }
  }
}
