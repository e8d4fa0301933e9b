package dev.ociproxy.it.support;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Our proxy as a real separate process: {@code java -jar $proxy.jar --config FILE} on a free
 * loopback port with a private cache directory.
 *
 * <p>The builder writes the config YAML of the public contract (listen, cache.dir, upstreams).
 * Output goes to {@link #logFile()}, printed by {@link ProcessGuard} when a test fails. {@link
 * #stop()} is a graceful SIGTERM, {@link #kill9()} a crash; {@link #start()} brings it back on the
 * same port, config and cache directory.
 */
public final class ProxyProcess implements AutoCloseable {

  private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(90);

  private final Builder spec;
  private final Path dir;
  private final Path cacheDir;
  private final Path configFile;
  private final Path logFile;
  private int port;
  private ManagedProcess process;

  /** One {@code upstreams:} entry; {@code credentials} may be null. */
  public record Upstream(String name, String url, boolean isDefault, Credentials credentials) {
    public Upstream {
      requireNonNull(name, "name");
      requireNonNull(url, "url");
    }
  }

  private ProxyProcess(Builder spec, Path dir) {
    this.spec = spec;
    this.dir = dir;
    this.cacheDir = spec.cacheDir != null ? spec.cacheDir : dir.resolve("cache");
    this.configFile = dir.resolve("proxy.yaml");
    this.logFile = TempDirs.logFile("proxy");
    this.port = spec.port;
  }

  /** The jar named by the system property {@code proxy.jar} (set by failsafe), if it exists. */
  public static Availability availability() {
    String jar = System.getProperty("proxy.jar");
    if (jar == null) {
      return Availability.unavailable("system property proxy.jar is not set (failsafe sets it)");
    }
    if (!Files.isRegularFile(Path.of(jar))) {
      return Availability.unavailable(
          "proxy.jar " + jar + " does not exist (run: mvn -q package -DskipTests)");
    }
    // The shade plugin writes a jar even before the server has a Main; such a jar cannot run.
    try (java.util.jar.JarFile jf = new java.util.jar.JarFile(jar)) {
      java.util.jar.Manifest m = jf.getManifest();
      String main = m == null ? null : m.getMainAttributes().getValue("Main-Class");
      if (main == null || jf.getEntry(main.replace('.', '/') + ".class") == null) {
        return Availability.unavailable(
            "proxy.jar " + jar + " has no runnable Main-Class (" + main + ") yet");
      }
      return Availability.ok();
    } catch (IOException e) {
      return Availability.unavailable("proxy.jar " + jar + " is not a readable jar: " + e);
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Configures and starts a {@link ProxyProcess}. */
  public static final class Builder {
    private final List<Upstream> upstreams = new ArrayList<>();
    private final List<String> jvmArgs = new ArrayList<>(List.of("-Xmx512m"));
    private final Map<String, String> env = new LinkedHashMap<>();
    private Path jar;
    private Path cacheDir;
    private int port;
    private String extraYaml = "";
    private final Map<String, String> cacheOptions = new LinkedHashMap<>();
    private final Map<String, String> upstreamOptions = new LinkedHashMap<>();
    private final StringBuilder upstreamYaml = new StringBuilder();

    private Builder() {}

    /** Sets a key on every upstream entry, e.g. {@code ("firstByteTimeout", "2s")}. */
    public Builder upstreamOption(String key, String value) {
      upstreamOptions.put(requireNonNull(key, "key"), requireNonNull(value, "value"));
      return this;
    }

    /**
     * Appends raw YAML to every upstream entry (indented under it), e.g. a {@code freshness:} list.
     */
    public Builder upstreamYaml(String yaml) {
      upstreamYaml.append(requireNonNull(yaml, "yaml"));
      return this;
    }

    /** Sets a key under {@code cache:} besides {@code dir}, e.g. {@code ("tagTtl", "0s")}. */
    public Builder cacheOption(String key, String value) {
      cacheOptions.put(requireNonNull(key, "key"), requireNonNull(value, "value"));
      return this;
    }

    /** Adds an upstream; the first one added is the default. */
    public Builder upstream(String name, String url) {
      return upstream(new Upstream(name, url, upstreams.isEmpty(), null));
    }

    /** Adds an upstream with credentials; the first one added is the default. */
    public Builder upstream(String name, String url, Credentials credentials) {
      return upstream(
          new Upstream(name, url, upstreams.isEmpty(), requireNonNull(credentials, "credentials")));
    }

    public Builder upstream(Upstream u) {
      upstreams.add(requireNonNull(u, "upstream"));
      return this;
    }

    /** Uses this cache directory (kept on close) instead of a private one (deleted on close). */
    public Builder cacheDir(Path d) {
      this.cacheDir = requireNonNull(d, "dir");
      return this;
    }

    public Builder port(int p) {
      this.port = p;
      return this;
    }

    /** Replaces the default JVM options ({@code -Xmx512m}). */
    public Builder jvmArgs(String... args) {
      jvmArgs.clear();
      jvmArgs.addAll(List.of(args));
      return this;
    }

    public Builder env(String name, String value) {
      env.put(name, value);
      return this;
    }

    /** Appends top-level YAML to the config (for options beyond the harness's contract). */
    public Builder extraYaml(String yaml) {
      this.extraYaml = requireNonNull(yaml, "yaml");
      return this;
    }

    /** Runs this jar instead of {@code -Dproxy.jar}. */
    public Builder jar(Path j) {
      this.jar = requireNonNull(j, "jar");
      return this;
    }

    public ProxyProcess start() {
      if (upstreams.isEmpty()) {
        throw new IllegalStateException("upstreams: none (expected: at least one)");
      }
      if (jar == null) {
        String prop = System.getProperty("proxy.jar");
        if (prop == null) {
          throw new IllegalStateException("system property proxy.jar is not set");
        }
        jar = Path.of(prop);
      }
      ProxyProcess proxy = new ProxyProcess(this, TempDirs.create("proxy"));
      try {
        proxy.startFirstTime();
        return proxy;
      } catch (RuntimeException e) {
        proxy.close();
        throw e;
      }
    }
  }

  private void startFirstTime() {
    boolean fixedPort = port != 0;
    for (int attempt = 1; ; attempt++) {
      if (!fixedPort) {
        port = Ports.free();
      }
      try {
        start();
        return;
      } catch (IllegalStateException e) {
        boolean portTaken =
            process != null
                && process.logTail(8_000).toLowerCase().contains("address already in use");
        if (fixedPort || !portTaken || attempt == 3) {
          throw e;
        }
      }
    }
  }

  /** Starts (or restarts after stop/kill9) the proxy; waits until GET /v2/ gets any HTTP answer. */
  public synchronized void start() {
    if (isRunning()) {
      return;
    }
    writeConfig();
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(spec.jvmArgs);
    // The class-data archive the build writes beside the jar, as the README's start command uses
    // it (a JVM that cannot use it ignores it); it also halves each of the suite's proxy starts.
    Path archive = spec.jar.resolveSibling("registry-proxy.jsa");
    if (Files.isRegularFile(archive)
        && spec.jvmArgs.stream().noneMatch(a -> a.startsWith("-XX:SharedArchiveFile="))) {
      cmd.add("-XX:SharedArchiveFile=" + archive);
    }
    cmd.addAll(List.of("-jar", spec.jar.toString(), "--config", configFile.toString()));
    process = ManagedProcess.start("proxy:" + port, cmd, spec.env, logFile);
    Http.await(url() + "/v2/", status -> true, process, STARTUP_TIMEOUT);
  }

  /** Graceful stop: SIGTERM, then SIGKILL after 20 s. */
  public synchronized void stop() {
    if (process != null) {
      process.stop();
    }
  }

  /** Crash: SIGKILL, no shutdown hooks run in the proxy. */
  public synchronized void kill9() {
    if (process != null) {
      process.kill9();
    }
  }

  public synchronized void restart() {
    stop();
    start();
  }

  public synchronized boolean isRunning() {
    return process != null && process.isAlive();
  }

  public int port() {
    return port;
  }

  /** {@code 127.0.0.1:<port>}. */
  public String hostPort() {
    return "127.0.0.1:" + port;
  }

  /** {@code http://127.0.0.1:<port>}. */
  public String url() {
    return "http://" + hostPort();
  }

  public Path cacheDir() {
    return cacheDir;
  }

  public Path configFile() {
    return configFile;
  }

  public Path logFile() {
    return logFile;
  }

  /** The whole log so far. */
  public String log() {
    return Commands.read(logFile);
  }

  public synchronized ManagedProcess process() {
    return process;
  }

  @Override
  public synchronized void close() {
    try {
      stop();
    } finally {
      TempDirs.deleteRecursively(dir);
    }
  }

  private void writeConfig() {
    StringBuilder y =
        new StringBuilder()
            .append("listen: ")
            .append(Yaml.quote(hostPort()))
            .append('\n')
            .append("cache:\n  dir: ")
            .append(Yaml.quote(cacheDir.toString()))
            .append('\n');
    spec.cacheOptions.forEach(
        (k, v) -> y.append("  ").append(k).append(": ").append(Yaml.quote(v)).append('\n'));
    y.append("upstreams:\n");
    for (Upstream u : spec.upstreams) {
      y.append("  - name: ")
          .append(Yaml.quote(u.name()))
          .append('\n')
          .append("    url: ")
          .append(Yaml.quote(u.url()))
          .append('\n')
          .append("    default: ")
          .append(u.isDefault())
          .append('\n');
      spec.upstreamOptions.forEach(
          (k, v) -> y.append("    ").append(k).append(": ").append(Yaml.quote(v)).append('\n'));
      spec.upstreamYaml.toString().lines().forEach(l -> y.append("    ").append(l).append('\n'));
      if (u.credentials() != null) {
        y.append("    username: ")
            .append(Yaml.quote(u.credentials().username()))
            .append('\n')
            .append("    password: ")
            .append(Yaml.quote(u.credentials().password()))
            .append('\n');
      }
    }
    if (!spec.extraYaml.contains("shutdownGracePeriod:")) {
      // stop() is a SIGTERM; a test that leaves a trickling transfer behind should not wait the
      // production default (20 s) for it to drain.
      y.append("shutdownGracePeriod: \"3s\"\n");
    }
    if (!spec.extraYaml.contains("startupWarmUp:")) {
      // The suite's ~80 proxy starts would each spend seconds of CPU on the warm-up beside the
      // test; MetricsAndHealthIT pins the warm-up itself.
      y.append("startupWarmUp: \"0s\"\n");
    }
    y.append(spec.extraYaml);
    try {
      Files.createDirectories(cacheDir);
      Files.writeString(configFile, y.toString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
