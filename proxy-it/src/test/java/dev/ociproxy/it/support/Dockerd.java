package dev.ociproxy.it.support;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;
import org.awaitility.core.TerminalFailureException;

/**
 * A private Docker Engine 20.10 ({@code dockerd}) with its own data root, exec root, pid file and
 * unix socket, driven with the {@code docker} CLI ({@code -H unix://...}, private DOCKER_CONFIG).
 *
 * <p>No iptables, no bridge (several daemons can run side by side). {@code registry-mirrors} only
 * apply to Docker Hub names; other registries are pulled directly, and 127.0.0.0/8 is insecure
 * (plain HTTP) by default. dockerd starts its own containerd, which {@link #close()} also stops.
 */
public final class Dockerd implements AutoCloseable {

  private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(90);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String RELOADED = "Reloaded configuration";
  private static volatile Availability availability;

  private final Path dir;
  private final ManagedProcess process;

  private Dockerd(Path dir, ManagedProcess process) {
    this.dir = dir;
    this.process = process;
  }

  /**
   * Whether dockerd and docker exist, we are root, and a private daemon actually starts here
   * (checked once).
   */
  public static Availability availability() {
    Availability a = availability;
    if (a == null) {
      synchronized (Dockerd.class) {
        if (availability == null) {
          availability = probe();
        }
        a = availability;
      }
    }
    return a;
  }

  private static Availability probe() {
    Availability bins = Commands.requireBinaries("docker.io", "dockerd", "docker");
    if (!bins.available()) {
      return bins;
    }
    if (!Commands.isRoot()) {
      return Availability.unavailable(
          "dockerd needs root (this JVM runs as " + System.getProperty("user.name") + ")");
    }
    try (Dockerd d = start(List.of(), List.of())) {
      return Availability.ok();
    } catch (RuntimeException e) {
      return Availability.unavailable(
          "a private dockerd does not start here: " + Commands.tail(e.getMessage(), 2_000));
    }
  }

  /**
   * Starts a private daemon with these {@code registry-mirrors} (URLs such as {@code
   * http://127.0.0.1:5001}) and {@code insecure-registries} ({@code host:port}).
   */
  public static Dockerd start(List<String> registryMirrors, List<String> insecureRegistries) {
    return start(registryMirrors, insecureRegistries, cfg -> {});
  }

  /**
   * As {@link #start(List, List)}, with {@code extra} applied to daemon.json before the daemon
   * starts (for keys a reload does not change, such as {@code max-download-attempts} in 20.10).
   */
  public static Dockerd start(
      List<String> registryMirrors, List<String> insecureRegistries, Consumer<ObjectNode> extra) {
    Path dir = TempDirs.create("dockerd");
    ManagedProcess process = null;
    try {
      ObjectNode cfg =
          JSON.createObjectNode()
              .put("storage-driver", "overlay2")
              .put("iptables", false)
              .put("ip-masq", false)
              .put("bridge", "none")
              .put("data-root", dir.resolve("root").toString())
              .put("exec-root", dir.resolve("exec").toString())
              .put("pidfile", dir.resolve("docker.pid").toString());
      cfg.putArray("hosts").add("unix://" + dir.resolve("docker.sock"));
      registryMirrors.forEach(cfg.putArray("registry-mirrors")::add);
      insecureRegistries.forEach(cfg.putArray("insecure-registries")::add);
      // The hard open-files limit here is 20000; dockerd's default ulimit would exceed it.
      cfg.putObject("default-ulimits")
          .putObject("nofile")
          .put("Name", "nofile")
          .put("Hard", 20000)
          .put("Soft", 20000);
      extra.accept(cfg);
      Path config = dir.resolve("daemon.json");
      Files.write(config, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(cfg));
      Files.createDirectories(dir.resolve("client"));
      process =
          ManagedProcess.start(
              "dockerd",
              List.of("dockerd", "--config-file", config.toString()),
              new java.util.HashMap<>(),
              TempDirs.logFile("dockerd"));
      Dockerd d = new Dockerd(dir, process);
      d.awaitReady();
      return d;
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
        "dockerd",
        STARTUP_TIMEOUT,
        Duration.ofMillis(300),
        () ->
            Files.exists(dir.resolve("docker.sock"))
                ? Commands.run(
                    cli("version", "--format", "{{.Server.Version}}"),
                    cliEnv(),
                    Duration.ofSeconds(30))
                : null);
  }

  /** {@code unix://<dir>/docker.sock}, for {@code DOCKER_HOST} or {@code -H}. */
  public String host() {
    return "unix://" + dir.resolve("docker.sock");
  }

  /** Runs {@code docker -H <host> <args>}; does not check the exit code. */
  public CommandResult docker(String... args) {
    return Commands.run(cli(args), cliEnv(), Skopeo.TIMEOUT);
  }

  /** Pulls {@code ref}; throws with the CLI's output if it fails. */
  public CommandResult pull(String ref) {
    return docker("pull", ref).orThrow();
  }

  /** Logs the CLI in to {@code registry} (host:port) in the private DOCKER_CONFIG. */
  public void login(String registry, Credentials credentials) {
    docker("login", "-u", credentials.username(), "-p", credentials.password(), registry).orThrow();
  }

  /**
   * Applies {@code edit} to daemon.json and makes dockerd reload it (SIGHUP), waiting until its log
   * says it did. Reloadable keys include {@code registry-mirrors} and {@code insecure-registries};
   * a daemon restart would cost seconds.
   */
  public void reload(Consumer<ObjectNode> edit) {
    Path config = dir.resolve("daemon.json");
    try {
      ObjectNode cfg = (ObjectNode) JSON.readTree(config.toFile());
      edit.accept(cfg);
      Files.write(config, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(cfg));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    int before = reloads();
    Commands.run(List.of("kill", "-HUP", Long.toString(process.pid()))).orThrow();
    try {
      Awaitility.await("dockerd reloads " + config)
          .atMost(Duration.ofSeconds(30))
          .pollInterval(Duration.ofMillis(100))
          .failFast(() -> !process.isAlive())
          .until(() -> reloads() > before);
    } catch (ConditionTimeoutException | TerminalFailureException e) {
      throw new IllegalStateException(
          "dockerd did not reload " + config + "\n" + process.describe(), e);
    }
  }

  /** Replaces {@code registry-mirrors} (URLs such as {@code http://127.0.0.1:5001}) and reloads. */
  public void registryMirrors(List<String> mirrors) {
    reload(cfg -> mirrors.forEach(cfg.putArray("registry-mirrors")::add));
  }

  private int reloads() {
    String log = Commands.read(process.logFile());
    int n = 0;
    for (int i = log.indexOf(RELOADED); i >= 0; i = log.indexOf(RELOADED, i + 1)) {
      n++;
    }
    return n;
  }

  /**
   * {@code RepoDigests} of a local image: {@code name@sha256:...} of the manifest (or index)
   * pulled.
   */
  public List<String> repoDigests(String ref) {
    List<String> out = new ArrayList<>();
    inspect(ref).path("RepoDigests").forEach(n -> out.add(n.asText()));
    return out;
  }

  /** The image ID, which is the digest of its config blob. */
  public String imageId(String ref) {
    return inspect(ref).path("Id").asText();
  }

  /** {@code docker image inspect ref} as JSON (the first element). */
  public JsonNode inspect(String ref) {
    String json = docker("image", "inspect", ref).orThrow().stdout();
    try {
      return JSON.readTree(json).path(0);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public ManagedProcess process() {
    return process;
  }

  @Override
  public void close() {
    stopAndDelete(process, dir);
  }

  private List<String> cli(String... args) {
    List<String> cmd = new ArrayList<>(List.of("docker", "-H", host()));
    cmd.addAll(List.of(args));
    return cmd;
  }

  private Map<String, String> cliEnv() {
    return Map.of("DOCKER_CONFIG", dir.resolve("client").toString());
  }

  private static void stopAndDelete(ManagedProcess process, Path dir) {
    try {
      if (process != null) {
        process.stop(Duration.ofSeconds(30));
      }
    } finally {
      unmountUnder(dir);
      TempDirs.deleteRecursively(dir);
    }
  }

  /**
   * Lazily unmounts whatever dockerd left mounted below {@code dir}: once it has run a container,
   * its {@code exec/netns/default} bind mount outlives it and would make the directory undeletable.
   */
  private static void unmountUnder(Path dir) {
    String prefix = dir.toAbsolutePath() + "/";
    List<String> mounts = new ArrayList<>();
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
        String[] fields = line.split(" ");
        if (fields.length > 4 && fields[4].startsWith(prefix)) {
          mounts.add(fields[4]);
        }
      }
    } catch (IOException e) {
      return; // not Linux, or no procfs: nothing we could unmount anyway
    }
    // Deepest first, so nested mounts go before their parents.
    mounts.sort(java.util.Comparator.comparingInt(String::length).reversed());
    for (String m : mounts) {
      Commands.run(List.of("umount", "-l", m));
    }
  }
}
