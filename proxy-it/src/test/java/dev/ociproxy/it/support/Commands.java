package dev.ociproxy.it.support;

import static java.util.Objects.requireNonNull;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Runs short-lived external commands (skopeo, ctr, docker, podman, htpasswd, keytool) with a
 * timeout and captured output.
 *
 * <p>Output goes to temp files rather than pipes so a chatty command can never block on a full
 * pipe. A command that outlives its timeout is killed by pid, together with every process it
 * started.
 */
public final class Commands {

  /** Generous default: the machine is shared by several agents and may be slow. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(5);

  /**
   * Commands in flight, killed by {@link ManagedProcess}'s shutdown hook if the JVM exits
   * meanwhile.
   */
  static final java.util.Set<ProcessHandle> RUNNING =
      java.util.concurrent.ConcurrentHashMap.newKeySet();

  private Commands() {}

  public static CommandResult run(List<String> command) {
    return run(command, Map.of(), DEFAULT_TIMEOUT);
  }

  /**
   * Runs {@code command} with {@code env} added to this JVM's environment and waits at most {@code
   * timeout}; a value of {@code null} in {@code env} removes that variable.
   */
  public static CommandResult run(List<String> command, Map<String, String> env, Duration timeout) {
    requireNonNull(command, "command");
    requireNonNull(env, "env");
    requireNonNull(timeout, "timeout");
    Path out = null;
    Path err = null;
    try {
      out = Files.createTempFile("cmd-", ".out");
      err = Files.createTempFile("cmd-", ".err");
      ProcessBuilder pb =
          new ProcessBuilder(command)
              .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
              .redirectOutput(out.toFile())
              .redirectError(err.toFile());
      applyEnv(pb, env);
      long start = System.nanoTime();
      Process process = pb.start();
      RUNNING.add(process.toHandle());
      boolean exited;
      try {
        exited = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        exited = false;
      } finally {
        RUNNING.remove(process.toHandle());
      }
      if (!exited) {
        ManagedProcess.killTree(process.toHandle());
        throw new IllegalStateException(
            "command timed out after "
                + timeout
                + ": "
                + String.join(" ", command)
                + "\n--- stdout ---\n"
                + tail(read(out), 4_000)
                + "\n--- stderr ---\n"
                + tail(read(err), 4_000));
      }
      Duration took = Duration.ofNanos(System.nanoTime() - start);
      return new CommandResult(
          List.copyOf(command), process.exitValue(), read(out), read(err), took);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + String.join(" ", command), e);
    } finally {
      deleteQuietly(out);
      deleteQuietly(err);
    }
  }

  static void applyEnv(ProcessBuilder pb, Map<String, String> env) {
    env.forEach(
        (k, v) -> {
          if (v == null) {
            pb.environment().remove(k);
          } else {
            pb.environment().put(k, v);
          }
        });
  }

  /** Returns the absolute path of {@code name} on PATH, if it is there and executable. */
  public static Optional<Path> which(String name) {
    String path = Optional.ofNullable(System.getenv("PATH")).orElse("/usr/local/bin:/usr/bin:/bin");
    for (String dir : (path + ":/usr/local/sbin:/usr/sbin:/sbin").split(":")) {
      if (dir.isEmpty()) {
        continue;
      }
      Path candidate = Path.of(dir, name);
      if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }

  /**
   * Returns {@link Availability#ok()} if every named binary is on PATH, else names the first
   * missing one.
   */
  public static Availability requireBinaries(String packageHint, String... names) {
    for (String name : names) {
      if (which(name).isEmpty()) {
        return Availability.unavailable(
            name + " not found on PATH (install: apt-get install -y " + packageHint + ")");
      }
    }
    return Availability.ok();
  }

  /**
   * Returns whether this JVM runs as root; the daemons (containerd, dockerd) and podman's overlay
   * need it.
   */
  public static boolean isRoot() {
    try {
      Object uid = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
      return uid instanceof Integer i && i == 0;
    } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
      return "root".equals(System.getProperty("user.name"));
    }
  }

  static String read(Path file) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "<cannot read " + file + ": " + e + ">";
    }
  }

  /** Returns at most the last {@code max} characters of {@code s}. */
  public static String tail(String s, int max) {
    return s.length() <= max
        ? s
        : "...(" + (s.length() - max) + " chars cut)...\n" + s.substring(s.length() - max);
  }

  private static void deleteQuietly(Path p) {
    if (p != null) {
      try {
        Files.deleteIfExists(p);
      } catch (IOException ignored) {
        // a leftover temp file is harmless
      }
    }
  }
}
