package dev.ociproxy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ociproxy.it.support.CommandResult;
import dev.ociproxy.it.support.Commands;
import dev.ociproxy.it.support.ProcessGuard;
import dev.ociproxy.it.support.ProxyProcess;
import dev.ociproxy.it.support.TempDirs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The start-up archive of the README's start command: the training run pulls an image through the
 * real jar and records a class-data archive that a later start maps ({@code -Xshare:on} turns an
 * unusable archive into a start-up failure instead of a silent fallback).
 */
@ExtendWith(ProcessGuard.class)
class ClassDataArchiveIT {
  static Path dir;
  static String java;
  static Path jar;

  @BeforeAll
  static void files() {
    assumeTrue(ProxyProcess.availability().available(), ProxyProcess.availability().reason());
    dir = TempDirs.create("cds");
    java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    jar = Path.of(System.getProperty("proxy.jar"));
  }

  @AfterAll
  static void cleanUp() {
    if (dir != null) {
      TempDirs.deleteRecursively(dir);
    }
  }

  @Test
  void theBuildWritesAnArchiveBesideTheJarThatTheJvmMaps() throws IOException {
    Path archive = jar.resolveSibling("registry-proxy.jsa");
    assertThat(archive).isRegularFile();
    CommandResult r =
        Commands.run(
            List.of(
                java,
                "-Xshare:on",
                "-XX:SharedArchiveFile=" + archive,
                "-jar",
                jar.toString(),
                "--help"),
            Map.of(),
            Duration.ofSeconds(60));
    assertThat(r.exitCode()).as(r.describe()).isZero();
    assertThat(r.stdout()).contains("--training-run");
  }

  @Test
  void theReadmesStartCommandIsOneThisJvmAccepts() throws IOException {
    // The README's start command, as a newcomer pastes it from the repository root, but checking
    // the config instead of serving: an option this JVM rejects, or a path that moved, fails here.
    Path root = jar.toAbsolutePath().normalize().getParent().getParent().getParent();
    String prefix = "mvn -q -DskipTests package && ";
    String line =
        Files.readAllLines(root.resolve("README.md")).stream()
            .filter(l -> l.startsWith(prefix))
            .findFirst()
            .orElseThrow(() -> new AssertionError("no start command in README.md"));
    List<String> command = new ArrayList<>();
    for (String word : line.substring(prefix.length()).split(" +")) {
      command.add(inRoot(root, word));
    }
    assertThat(command.get(0)).isEqualTo("java");
    command.set(0, java);
    command.add("--check-config");
    CommandResult r = Commands.run(command, Map.of(), Duration.ofSeconds(60));
    assertThat(r.exitCode()).as(r.describe()).isZero();
    // Unified logging's "[warning]": an archive the JVM could not map, an obsolete option.
    assertThat(r.stdout() + r.stderr()).doesNotContain("Unrecognized", "[warning]");
  }

  /** {@code word} with a relative path in it resolved against {@code root}. */
  private static String inRoot(Path root, String word) {
    int eq = word.indexOf('=');
    String path = eq >= 0 ? word.substring(eq + 1) : word;
    if (word.startsWith("-") && eq < 0 || !path.contains("/")) {
      return word;
    }
    return word.substring(0, eq + 1) + root.resolve(path);
  }

  @Test
  void trainingRunPullsThroughTheProxyAndTheProxyStartsOnItsArchive() throws IOException {
    Path archive = dir.resolve("trained.jsa");
    CommandResult training =
        Commands.run(
            List.of(
                java,
                "-XX:ArchiveClassesAtExit=" + archive,
                "-jar",
                jar.toString(),
                "--training-run"),
            Map.of(),
            Duration.ofMinutes(3));
    assertThat(training.exitCode()).as(training.describe()).isZero();
    // The training run checks every answer itself; these are the cold and the warm pulls.
    assertThat(training.stdout() + training.stderr()).contains("cache=miss").contains("cache=hit");
    assertThat(Files.size(archive)).isGreaterThan(1_000_000);

    try (ProxyProcess proxy =
        ProxyProcess.builder()
            .upstream("up.test", "http://127.0.0.1:9")
            .jvmArgs("-Xmx512m", "-Xshare:on", "-XX:SharedArchiveFile=" + archive)
            .start()) {
      assertThat(proxy.isRunning()).isTrue();
    }
  }
}
