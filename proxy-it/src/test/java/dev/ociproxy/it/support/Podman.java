package dev.ociproxy.it.support;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Podman 4.3 with private storage ({@code --root}, {@code --runroot}, overlay), tmp dirs, auth
 * file, signature policy and {@code registries.conf}; no daemon, each call is a short-lived
 * process.
 *
 * <p>{@link #mirror} adds a {@code [[registry.mirror]]} entry the way the shared note describes;
 * {@link #insecure} lets podman speak plain HTTP to a {@code host:port}.
 */
public final class Podman implements AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static volatile Availability availability;

  private final Path dir;

  /** registry location → mirror locations (empty: just insecure). */
  private final Map<String, List<String>> registries = new LinkedHashMap<>();

  private Podman(Path dir) {
    this.dir = dir;
  }

  /**
   * Whether podman exists, we are root, and {@code podman info} works with private storage (checked
   * once).
   */
  public static Availability availability() {
    Availability a = availability;
    if (a == null) {
      synchronized (Podman.class) {
        if (availability == null) {
          availability = probe();
        }
        a = availability;
      }
    }
    return a;
  }

  private static Availability probe() {
    Availability bins = Commands.requireBinaries("podman", "podman");
    if (!bins.available()) {
      return bins;
    }
    if (!Commands.isRoot()) {
      return Availability.unavailable(
          "the harness runs podman as root only (this JVM runs as "
              + System.getProperty("user.name")
              + ")");
    }
    try (Podman p = create()) {
      CommandResult info = p.podman("info", "--format", "{{.Store.GraphDriverName}}");
      return info.succeeded()
          ? Availability.ok()
          : Availability.unavailable(
              "podman info fails with private storage here:\n" + info.describe());
    } catch (RuntimeException e) {
      return Availability.unavailable(
          "podman does not work here: " + Commands.tail(String.valueOf(e.getMessage()), 2_000));
    }
  }

  /** Creates the private directories and config files; nothing runs until the first command. */
  public static Podman create() {
    Path dir = TempDirs.create("podman");
    Podman p = new Podman(dir);
    try {
      Files.createDirectories(dir.resolve("tmp"));
      Files.createDirectories(dir.resolve("libpod-tmp"));
      Files.createDirectories(dir.resolve("networks"));
      Files.writeString(dir.resolve("auth.json"), "{}");
      Files.writeString(
          dir.resolve("policy.json"), "{\"default\":[{\"type\":\"insecureAcceptAnything\"}]}");
      Files.writeString(dir.resolve("containers.conf"), "");
      Files.writeString(
          dir.resolve("storage.conf"),
          "[storage]\ndriver = \"overlay\"\n"
              + "graphroot = "
              + Yaml.quote(dir.resolve("root").toString())
              + "\n"
              + "runroot = "
              + Yaml.quote(dir.resolve("run").toString())
              + "\n");
      p.writeRegistriesConf();
      return p;
    } catch (IOException e) {
      TempDirs.deleteRecursively(dir);
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Sends pulls of {@code registryLocation} (e.g. registry.example.com) to the plain-HTTP mirror
   * first.
   */
  public Podman mirror(String registryLocation, String mirrorHostPort) {
    registries
        .computeIfAbsent(
            requireNonNull(registryLocation, "registryLocation"), k -> new ArrayList<>())
        .add(requireNonNull(mirrorHostPort, "mirrorHostPort"));
    writeRegistriesConf();
    return this;
  }

  /** Lets podman talk plain HTTP to {@code hostPort} without {@code --tls-verify=false}. */
  public Podman insecure(String hostPort) {
    registries.computeIfAbsent(requireNonNull(hostPort, "hostPort"), k -> new ArrayList<>());
    writeRegistriesConf();
    return this;
  }

  /** Runs {@code podman <global private flags> <args>}; does not check the exit code. */
  public CommandResult podman(String... args) {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                "podman",
                "--root",
                dir.resolve("root").toString(),
                "--runroot",
                dir.resolve("run").toString(),
                "--storage-driver",
                "overlay",
                "--tmpdir",
                dir.resolve("libpod-tmp").toString(),
                "--network-config-dir",
                dir.resolve("networks").toString(),
                "--events-backend",
                "none",
                "--cgroup-manager",
                "cgroupfs"));
    cmd.addAll(List.of(args));
    return Commands.run(
        cmd,
        Map.of(
            "CONTAINERS_REGISTRIES_CONF", dir.resolve("registries.conf").toString(),
            "CONTAINERS_CONF", dir.resolve("containers.conf").toString(),
            "CONTAINERS_STORAGE_CONF", dir.resolve("storage.conf").toString(),
            "REGISTRY_AUTH_FILE", dir.resolve("auth.json").toString(),
            "TMPDIR", dir.resolve("tmp").toString()),
        Skopeo.TIMEOUT);
  }

  /**
   * Pulls {@code ref} (extra flags such as {@code --tls-verify=false}, {@code --creds u:p}); throws
   * on failure.
   */
  public CommandResult pull(String ref, String... flags) {
    return tryPull(ref, flags).orThrow();
  }

  /** As {@link #pull} but returns the result even when podman fails. */
  public CommandResult tryPull(String ref, String... flags) {
    List<String> args =
        new ArrayList<>(
            List.of("pull", "--signature-policy", dir.resolve("policy.json").toString()));
    args.addAll(List.of(flags));
    args.add(ref);
    return podman(args.toArray(String[]::new));
  }

  /** {@code podman image inspect ref} as JSON (the first element). */
  public JsonNode inspect(String ref) {
    String json = podman("image", "inspect", ref).orThrow().stdout();
    try {
      return JSON.readTree(json).path(0);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The manifest digest podman recorded for the image ({@code .Digest}). */
  public String imageDigest(String ref) {
    return inspect(ref).path("Digest").asText();
  }

  /**
   * {@code .RepoDigests}: {@code name@digest} entries (manifest and, for an index, the index
   * digest).
   */
  public List<String> repoDigests(String ref) {
    List<String> out = new ArrayList<>();
    inspect(ref).path("RepoDigests").forEach(n -> out.add(n.asText()));
    return out;
  }

  /** The image ID, which is the config blob's hex digest (without {@code sha256:}). */
  public String imageId(String ref) {
    return inspect(ref).path("Id").asText();
  }

  @Override
  public void close() {
    // Pulls leave no mounts; a reset would only spend time. Storage is private, so delete it.
    TempDirs.deleteRecursively(dir);
  }

  private void writeRegistriesConf() {
    StringBuilder t = new StringBuilder("unqualified-search-registries = []\n");
    registries.forEach(
        (location, mirrors) -> {
          t.append("\n[[registry]]\nlocation = ")
              .append(Yaml.quote(location))
              .append("\ninsecure = true\n");
          for (String m : mirrors) {
            t.append("[[registry.mirror]]\nlocation = ")
                .append(Yaml.quote(m))
                .append("\ninsecure = true\n");
          }
        });
    try {
      Files.writeString(dir.resolve("registries.conf"), t.toString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
