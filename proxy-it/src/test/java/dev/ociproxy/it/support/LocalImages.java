package dev.ociproxy.it.support;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.testcontainers.images.builder.ImageFromDockerfile;

/**
 * Container images built from this machine's own files, since no registry is reachable: each is
 * {@code FROM scratch} plus a root file system holding the program and exactly the shared libraries
 * {@code ldd} says it needs (libc, the loader, zlib).
 *
 * <ul>
 *   <li>{@link #registry()}: Debian's {@code docker-registry} (CNCF distribution) with a config
 *       whose listen address comes from {@code REGISTRY_HTTP_ADDR} and storage lives in {@code
 *       /var/lib/registry}.
 *   <li>{@link #proxy(Path)}: the proxy jar on a {@code jlink}ed Java runtime, reading {@code
 *       /etc/registry-proxy/proxy.yaml}.
 * </ul>
 *
 * <p>Images are built by the engine Testcontainers uses, lazily and once per JVM; the root file
 * systems are deleted when the build has read them.
 */
public final class LocalImages {
  public static final String REGISTRY = "local.test/docker-registry:it";
  public static final String PROXY = "local.test/registry-proxy:it";
  public static final String PROXY_CONFIG = "/etc/registry-proxy/proxy.yaml";

  /**
   * What the shaded jar uses of the JDK (Netty needs jdk.unsupported, Micrometer java.management).
   */
  private static final String MODULES =
      "java.base,java.logging,java.management,java.naming,java.xml,java.sql,"
          + "jdk.unsupported,jdk.crypto.ec,java.net.http,jdk.httpserver";

  private static final Pattern LDD_PATH = Pattern.compile("(?:=>\\s*)?(/\\S+)\\s+\\(0x");

  private LocalImages() {}

  public static Availability availability() {
    Availability bins =
        Commands.requireBinaries("docker-registry", "docker-registry")
            .and(Commands.requireBinaries("libc-bin", "ldd"));
    Path home = Path.of(System.getProperty("java.home"));
    boolean jlink =
        Files.isExecutable(home.resolve("bin/jlink"))
            && Files.isRegularFile(home.resolve("jmods/java.base.jmod"));
    return bins.available() && !jlink
        ? Availability.unavailable(
            "no jlink or jmods in "
                + home
                + " (a full JDK, e.g. openjdk-17-jdk-headless,"
                + " builds the proxy image's runtime)")
        : bins;
  }

  /** The docker-registry image: {@code serve /etc/docker-registry/config.yml}. */
  public static ImageFromDockerfile registry() {
    Path rootfs = TempDirs.create("rootfs-registry");
    try {
      Path binary = Commands.which("docker-registry").orElseThrow().toRealPath();
      copy(binary, rootfs, "usr/bin/docker-registry");
      copyLibraries(rootfs, List.of(binary));
      Path config = rootfs.resolve("etc/docker-registry/config.yml");
      Files.createDirectories(config.getParent());
      Files.writeString(
          config,
          "version: 0.1\n"
              + "log:\n  level: info\n  formatter: text\n"
              + "storage:\n  filesystem:\n    rootdirectory: /var/lib/registry\n  delete:\n    enabled: true\n"
              + "http:\n  addr: 127.0.0.1:5000\n  secret: container-it-secret\n"
              + "health:\n  storagedriver:\n    enabled: false\n");
      return image(
          REGISTRY,
          rootfs,
          "[\"/usr/bin/docker-registry\", \"serve\", \"/etc/docker-registry/config.yml\"]");
    } catch (IOException e) {
      TempDirs.deleteRecursively(rootfs);
      throw new UncheckedIOException(e);
    }
  }

  /**
   * The proxy image: {@code java -jar /opt/registry-proxy.jar --config
   * /etc/registry-proxy/proxy.yaml}.
   */
  public static ImageFromDockerfile proxy(Path jar) {
    requireNonNull(jar, "jar");
    Path rootfs = TempDirs.create("rootfs-proxy");
    try {
      Path jre = rootfs.resolve("opt/jre");
      Files.createDirectories(jre.getParent());
      Commands.run(
              List.of(
                  Path.of(System.getProperty("java.home"), "bin", "jlink").toString(),
                  "--add-modules",
                  MODULES,
                  "--strip-debug",
                  "--no-header-files",
                  "--no-man-pages",
                  "--output",
                  jre.toString()),
              Map.of(),
              Duration.ofMinutes(5))
          .orThrow();
      List<Path> elfs = new ArrayList<>();
      elfs.add(jre.resolve("bin/java"));
      try (Stream<Path> files = Files.walk(jre.resolve("lib"))) {
        files.filter(p -> p.getFileName().toString().endsWith(".so")).forEach(elfs::add);
      }
      copyLibraries(rootfs, elfs);
      copy(jar, rootfs, "opt/registry-proxy.jar");
      return image(
          PROXY,
          rootfs,
          "[\"/opt/jre/bin/java\", \"-Xmx256m\", \"-jar\", \"/opt/registry-proxy.jar\", "
              + "\"--config\", \""
              + PROXY_CONFIG
              + "\"]");
    } catch (IOException e) {
      TempDirs.deleteRecursively(rootfs);
      throw new UncheckedIOException(e);
    }
  }

  private static ImageFromDockerfile image(String name, Path rootfs, String entrypointJson) {
    ImageFromDockerfile image =
        new ImageFromDockerfile(name, false)
            .withDockerfileFromBuilder(
                b -> b.from("scratch").copy("rootfs/", "/").entryPoint(entrypointJson).build())
            .withFileFromPath("rootfs", rootfs);
    // Build now, while the root file system exists; later uses only name the built image.
    try {
      image.get();
    } finally {
      TempDirs.deleteRecursively(rootfs);
    }
    return image;
  }

  /**
   * Copies every shared library {@code ldd} lists for {@code elfs} (outside {@code rootfs}) into
   * it.
   */
  private static void copyLibraries(Path rootfs, List<Path> elfs) throws IOException {
    List<String> cmd = new ArrayList<>(List.of("ldd"));
    elfs.forEach(p -> cmd.add(p.toString()));
    // ldd exits 1 when one of several files is not dynamic; the listed paths are what counts.
    String out = Commands.run(cmd).stdout();
    Set<String> libs = new LinkedHashSet<>();
    for (String line : out.split("\n")) {
      Matcher m = LDD_PATH.matcher(line);
      if (m.find() && !line.contains("not found") && !m.group(1).startsWith(rootfs.toString())) {
        libs.add(m.group(1));
      }
    }
    if (libs.stream().noneMatch(l -> l.contains("libc.so"))) {
      throw new IllegalStateException("ldd found no libc for " + elfs + ":\n" + out);
    }
    for (String lib : libs) {
      copy(Path.of(lib).toRealPath(), rootfs, lib.substring(1));
    }
  }

  private static void copy(Path from, Path rootfs, String to) throws IOException {
    Path target = rootfs.resolve(to);
    Files.createDirectories(target.getParent());
    if (!Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
      Files.copy(from, target, StandardCopyOption.COPY_ATTRIBUTES);
    }
  }
}
