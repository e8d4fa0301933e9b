package dev.ociproxy.it.support;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * Runs skopeo 1.9 against plain-HTTP registries: push OCI layouts, copy images into {@code dir:}
 * directories, inspect raw manifests.
 *
 * <p>Every call uses a private, empty registries.conf, auth file and an accept-anything signature
 * policy, so the host's container configuration cannot change what is fetched from where.
 */
public final class Skopeo {

  /** Generous: several agents share two cores. */
  public static final Duration TIMEOUT = Duration.ofMinutes(10);

  private static volatile Path configDir;

  private Skopeo() {}

  public static Availability availability() {
    return Commands.requireBinaries("skopeo", "skopeo");
  }

  /** Runs {@code skopeo <args>} with the private configuration; does not check the exit code. */
  public static CommandResult run(List<String> args) {
    Path conf = configDir();
    List<String> cmd =
        new ArrayList<>(List.of("skopeo", "--policy", conf.resolve("policy.json").toString()));
    cmd.addAll(args);
    return Commands.run(
        cmd,
        Map.of(
            "CONTAINERS_REGISTRIES_CONF", conf.resolve("registries.conf").toString(),
            "REGISTRY_AUTH_FILE", conf.resolve("auth.json").toString(),
            "CONTAINERS_CONF", conf.resolve("containers.conf").toString()),
        TIMEOUT);
  }

  /**
   * Pushes {@code image} (with {@code --all} for an index) to {@code registry} as {@code
   * repoAndTag}, digests preserved.
   */
  public static void push(OciImage image, UpstreamRegistry registry, String repoAndTag) {
    push(image, registry.hostPort(), repoAndTag, registry.pushCredentials().orElse(null));
  }

  /**
   * Pushes {@code image} to {@code docker://hostPort/repoAndTag}; {@code credentials} may be null.
   *
   * <p>skopeo's {@code oci:} transport only finds OCI media types in {@code index.json}, so an
   * image with Docker media types is pushed from a {@code dir:} view of the same files instead.
   */
  public static void push(
      OciImage image, String hostPort, String repoAndTag, Credentials credentials) {
    List<String> args =
        new ArrayList<>(List.of("copy", "--dest-tls-verify=false", "--preserve-digests"));
    if (image.isIndex()) {
      args.add("--all");
    }
    if (credentials != null) {
      args.add("--dest-creds=" + credentials.colonForm());
    }
    Path dirView =
        image.top().mediaType().startsWith("application/vnd.docker.") ? dirView(image) : null;
    try {
      args.add(dirView == null ? image.ociReference() : "dir:" + dirView);
      args.add("docker://" + hostPort + "/" + repoAndTag);
      run(args).orThrow();
    } finally {
      TempDirs.deleteRecursively(dirView);
    }
  }

  /**
   * Lays the image out as skopeo's {@code dir:} transport expects, with symlinks to the layout's
   * blobs.
   */
  private static Path dirView(OciImage image) {
    Path dir = TempDirs.create("skopeo-src");
    try {
      Files.writeString(dir.resolve("version"), "Directory Transport Version: 1.1\n");
      Files.createSymbolicLink(dir.resolve("manifest.json"), image.blobPath(image.digest()));
      for (OciImage.PlatformImage p : image.images()) {
        if (image.isIndex()) {
          Files.createSymbolicLink(
              dir.resolve(hex(p.manifest().digest()) + ".manifest.json"),
              image.blobPath(p.manifest().digest()));
        }
        for (String blob : p.blobDigests()) {
          Path link = dir.resolve(hex(blob));
          if (!Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            Files.createSymbolicLink(link, image.blobPath(blob));
          }
        }
      }
      return dir;
    } catch (IOException e) {
      TempDirs.deleteRecursively(dir);
      throw new UncheckedIOException(e);
    }
  }

  private static String hex(String digest) {
    return digest.substring(digest.indexOf(':') + 1);
  }

  /**
   * Copies {@code docker://ref} into a new {@code dir:} directory and returns what was stored; with
   * {@code all} every platform of an index is copied. {@code credentials} may be null.
   */
  public static DirImage copyToDir(String ref, Path dir, Credentials credentials, boolean all) {
    List<String> args =
        new ArrayList<>(List.of("copy", "--src-tls-verify=false", "--preserve-digests"));
    if (all) {
      args.add("--all");
    }
    if (credentials != null) {
      args.add("--src-creds=" + credentials.colonForm());
    }
    args.add("docker://" + ref);
    args.add("dir:" + dir);
    CommandResult result = run(args).orThrow();
    return DirImage.read(dir, result);
  }

  /**
   * Deletes {@code docker://ref} (normally {@code repo@digest}) from its registry; {@code
   * credentials} may be null.
   */
  public static void delete(String ref, Credentials credentials) {
    List<String> args = new ArrayList<>(List.of("delete", "--tls-verify=false"));
    if (credentials != null) {
      args.add("--creds=" + credentials.colonForm());
    }
    args.add("docker://" + ref);
    run(args).orThrow();
  }

  /** Returns the raw manifest bytes of {@code docker://ref} as skopeo received them. */
  public static String inspectRaw(String ref, Credentials credentials) {
    List<String> args = new ArrayList<>(List.of("inspect", "--raw", "--tls-verify=false"));
    if (credentials != null) {
      args.add("--creds=" + credentials.colonForm());
    }
    args.add("docker://" + ref);
    return run(args).orThrow().stdout();
  }

  /**
   * What {@code skopeo copy ... dir:DIR} stored: the top manifest's digest and the digests of every
   * stored file, each computed from the bytes on disk (not taken from the file names).
   */
  public record DirImage(
      Path dir, String manifestDigest, Set<String> storedDigests, CommandResult copy) {

    public static DirImage read(Path dir, CommandResult copy) {
      Set<String> stored = new TreeSet<>();
      try (Stream<Path> files = Files.list(dir)) {
        for (Path f : files.toList()) {
          String name = f.getFileName().toString();
          if (name.equals("version") || name.contains("signature")) {
            continue;
          }
          stored.add(digestOf(f));
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      return new DirImage(dir, digestOf(dir.resolve("manifest.json")), stored, copy);
    }
  }

  /** Returns {@code sha256:<hex>} of the file's bytes. */
  public static String digestOf(Path file) {
    var md = OciImages.sha256();
    byte[] buf = new byte[1 << 16];
    try (var in = Files.newInputStream(file)) {
      for (int n; (n = in.read(buf)) > 0; ) {
        md.update(buf, 0, n);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return "sha256:" + HexFormat.of().formatHex(md.digest());
  }

  private static Path configDir() {
    Path dir = configDir;
    if (dir != null) {
      return dir;
    }
    synchronized (Skopeo.class) {
      if (configDir == null) {
        Path d = TempDirs.create("skopeo-conf");
        try {
          Files.writeString(
              d.resolve("policy.json"), "{\"default\":[{\"type\":\"insecureAcceptAnything\"}]}");
          Files.writeString(d.resolve("registries.conf"), "unqualified-search-registries = []\n");
          Files.writeString(d.resolve("auth.json"), "{}");
          Files.writeString(d.resolve("containers.conf"), "");
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
        Runtime.getRuntime()
            .addShutdownHook(
                new Thread(() -> TempDirs.deleteRecursively(d), "skopeo-conf-cleanup"));
        configDir = d;
      }
      return requireNonNull(configDir);
    }
  }
}
