package dev.ociproxy.it.support;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Runs one of the proxy jar's subcommands ({@code warm}, {@code export}, {@code import}, {@code
 * audit}) as its own short-lived process: {@code java -jar $proxy.jar <args>}, with captured
 * output.
 */
public final class ProxyCli {
  /** Generous: several agents share two cores. */
  public static final Duration TIMEOUT = Duration.ofMinutes(10);

  private ProxyCli() {}

  /** Runs the jar with {@code args}; does not check the exit code. */
  public static CommandResult run(String... args) {
    String jar = System.getProperty("proxy.jar");
    if (jar == null) {
      throw new IllegalStateException("system property proxy.jar is not set");
    }
    List<String> cmd =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m",
                "-jar",
                jar));
    cmd.addAll(List.of(args));
    return Commands.run(cmd, Map.of(), TIMEOUT);
  }
}
