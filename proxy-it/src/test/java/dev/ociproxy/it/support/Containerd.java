package dev.ociproxy.it.support;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A private containerd 1.6 daemon (own root, state, socket; CRI plugin off) driven with {@code
 * ctr}.
 *
 * <p>Registry hosts are configured the containerd way, with {@code hosts.toml} files in a private
 * hosts directory passed as {@code ctr image pull --hosts-dir}; {@link #mirror} writes one that
 * sends a registry name to a plain-HTTP mirror, which containerd then asks for {@code
 * /v2/<repo>/manifests/<ref>?ns=<registry>}.
 */
public final class Containerd implements AutoCloseable {

  private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(60);
  private static volatile Availability availability;

  private final Path dir;
  private final Path socket;
  private final Path hostsDir;
  private final ManagedProcess process;

  private Containerd(Path dir, ManagedProcess process) {
    this.dir = dir;
    this.socket = dir.resolve("containerd.sock");
    this.hostsDir = dir.resolve("certs.d");
    this.process = process;
  }

  /**
   * Whether containerd and ctr exist, we are root, and a private daemon actually starts here
   * (checked once).
   */
  public static Availability availability() {
    Availability a = availability;
    if (a == null) {
      synchronized (Containerd.class) {
        if (availability == null) {
          availability = probe();
        }
        a = availability;
      }
    }
    return a;
  }

  private static Availability probe() {
    Availability bins = Commands.requireBinaries("containerd", "containerd", "ctr");
    if (!bins.available()) {
      return bins;
    }
    if (!Commands.isRoot()) {
      return Availability.unavailable(
          "containerd needs root (this JVM runs as " + System.getProperty("user.name") + ")");
    }
    try (Containerd c = start()) {
      return Availability.ok();
    } catch (RuntimeException e) {
      return Availability.unavailable(
          "a private containerd does not start here: " + Commands.tail(e.getMessage(), 2_000));
    }
  }

  /** Starts a private daemon and waits until {@code ctr version} answers. */
  public static Containerd start() {
    Path dir = TempDirs.create("containerd");
    ManagedProcess process = null;
    try {
      Files.createDirectories(dir.resolve("certs.d"));
      Path config = dir.resolve("config.toml");
      // A minimal version-2 config equals `containerd config default` with root, state and
      // grpc.address moved; CRI is off so no stream server or CNI is set up, opt is private too.
      Files.writeString(
          config,
          "version = 2\n"
              + "root = "
              + toml(dir.resolve("root"))
              + "\n"
              + "state = "
              + toml(dir.resolve("state"))
              + "\n"
              + "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n"
              + "[grpc]\n  address = "
              + toml(dir.resolve("containerd.sock"))
              + "\n"
              + "[ttrpc]\n  address = \"\"\n"
              + "[debug]\n  address = \"\"\n"
              + "[metrics]\n  address = \"\"\n"
              + "[plugins.\"io.containerd.internal.v1.opt\"]\n  path = "
              + toml(dir.resolve("opt"))
              + "\n");
      process =
          ManagedProcess.start(
              "containerd",
              List.of("containerd", "--config", config.toString()),
              Map.of(),
              TempDirs.logFile("containerd"));
      Containerd c = new Containerd(dir, process);
      c.awaitReady();
      return c;
    } catch (IOException e) {
      stopAndDelete(process, dir);
      throw new UncheckedIOException(e);
    } catch (RuntimeException e) {
      stopAndDelete(process, dir);
      throw e;
    }
  }

  private void awaitReady() {
    process.awaitReady(
        "containerd",
        STARTUP_TIMEOUT,
        Duration.ofMillis(200),
        () ->
            Files.exists(socket)
                ? Commands.run(
                    List.of("ctr", "-a", socket.toString(), "version"),
                    Map.of(),
                    Duration.ofSeconds(20))
                : null);
  }

  /**
   * Writes {@code <hostsDir>/<registryHost>/hosts.toml} sending pulls of {@code registryHost} to
   * the plain-HTTP {@code mirrorHostPort} (pull and resolve capabilities); the real host is the
   * fallback.
   */
  public Containerd mirror(String registryHost, String mirrorHostPort) {
    return hostsToml(
        registryHost,
        "server = \"https://"
            + registryHost
            + "\"\n\n"
            + "[host.\"http://"
            + mirrorHostPort
            + "\"]\n"
            + "  capabilities = [\"pull\", \"resolve\"]\n"
            + "  skip_verify = true\n");
  }

  /**
   * Writes {@code content} as the hosts.toml of {@code registryHost} (replacing any earlier one).
   */
  public Containerd hostsToml(String registryHost, String content) {
    requireNonNull(registryHost, "registryHost");
    try {
      // containerd looks for the directory named exactly as the host, "host:port" included.
      Path d = Files.createDirectories(hostsDir.resolve(registryHost));
      Files.writeString(d.resolve("hosts.toml"), content);
      return this;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Runs {@code ctr -a <socket> <args>} (default namespace); does not check the exit code. */
  public CommandResult ctr(String... args) {
    List<String> cmd = new ArrayList<>(List.of("ctr", "-a", socket.toString()));
    cmd.addAll(List.of(args));
    return Commands.run(cmd, Map.of(), Skopeo.TIMEOUT);
  }

  /**
   * Pulls {@code ref} with the private hosts directory and the given extra flags (e.g. {@code
   * --all-platforms}, {@code --user u:p}); throws with ctr's output if it fails.
   */
  public CommandResult pull(String ref, String... flags) {
    List<String> args =
        new ArrayList<>(List.of("image", "pull", "--hosts-dir", hostsDir.toString()));
    args.addAll(List.of(flags));
    args.add(ref);
    return ctr(args.toArray(String[]::new)).orThrow();
  }

  /**
   * As {@link #pull} but returns the result even when ctr fails (for tests that expect a failure).
   */
  public CommandResult tryPull(String ref, String... flags) {
    List<String> args =
        new ArrayList<>(List.of("image", "pull", "--hosts-dir", hostsDir.toString()));
    args.addAll(List.of(flags));
    args.add(ref);
    return ctr(args.toArray(String[]::new));
  }

  /** Digests of every blob in containerd's content store ({@code ctr content ls -q}). */
  public Set<String> contentDigests() {
    Set<String> digests = new LinkedHashSet<>();
    for (String line : ctr("content", "ls", "-q").orThrow().stdout().split("\n")) {
      if (!line.isBlank()) {
        digests.add(line.strip());
      }
    }
    return digests;
  }

  /** The digest {@code ref} points at in containerd's image store ({@code ctr image ls}). */
  public String imageDigest(String ref) {
    for (String line : ctr("image", "ls").orThrow().stdout().split("\n")) {
      String[] cols = line.trim().split("\\s+");
      if (cols.length >= 3 && cols[0].equals(ref)) {
        return cols[2];
      }
    }
    throw new IllegalStateException("image " + ref + " not in containerd's image store");
  }

  /** Removes all images and lets the garbage collector drop their content. */
  public void removeAllImages() {
    String names = ctr("image", "ls", "-q").orThrow().stdout().strip();
    if (!names.isEmpty()) {
      List<String> args = new ArrayList<>(List.of("image", "rm", "--sync"));
      args.addAll(List.of(names.split("\\s+")));
      ctr(args.toArray(String[]::new)).orThrow();
    }
  }

  public Path socket() {
    return socket;
  }

  public Path hostsDir() {
    return hostsDir;
  }

  public ManagedProcess process() {
    return process;
  }

  @Override
  public void close() {
    stopAndDelete(process, dir);
  }

  private static void stopAndDelete(ManagedProcess process, Path dir) {
    try {
      if (process != null) {
        process.stop();
      }
    } finally {
      TempDirs.deleteRecursively(dir);
    }
  }

  private static String toml(Path p) {
    return Yaml.quote(p.toString());
  }
}
