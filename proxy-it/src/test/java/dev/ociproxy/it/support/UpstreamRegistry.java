package dev.ociproxy.it.support;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A real CNCF distribution registry ({@code docker-registry serve}, Debian's 2.8.2) on a free
 * loopback port with filesystem storage in a private directory; deletes are enabled.
 *
 * <p>Variants: open, htpasswd Basic auth, bearer-token auth against a {@link TokenServer}, and a
 * pull-through cache of another registry ({@link #proxyOf}). {@link #stop()} and {@link #start()}
 * switch it off and on again on the same port and data directory, so tests can take the upstream
 * away. {@link #close()} stops it by pid and deletes its data.
 */
public final class UpstreamRegistry implements AutoCloseable {

  private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(60);

  private final Builder spec;
  private final Path dir;
  private final Path dataDir;
  private final Path configFile;
  private final Path logFile;
  private int port;
  private ManagedProcess process;

  private UpstreamRegistry(Builder spec, Path dir) {
    this.spec = spec;
    this.dir = dir;
    this.dataDir = spec.dataDir != null ? spec.dataDir : dir.resolve("data");
    this.configFile = dir.resolve("config.yml");
    this.logFile = TempDirs.logFile("registry");
    this.port = spec.port;
  }

  public static Availability availability() {
    return Commands.requireBinaries("docker-registry", "docker-registry");
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Starts an open registry (no auth). */
  public static UpstreamRegistry startOpen() {
    return builder().start();
  }

  /** Starts a registry that requires HTTP Basic auth as {@code user} (who may pull and push). */
  public static UpstreamRegistry startWithHtpasswd(Credentials user) {
    return builder().htpasswd(user).start();
  }

  /**
   * Starts a registry that requires bearer tokens from {@code tokens}; push with {@code
   * tokens.admin()}.
   */
  public static UpstreamRegistry startWithTokenAuth(TokenServer tokens) {
    return builder().tokenAuth(tokens).start();
  }

  /**
   * Starts distribution as a pull-through cache of {@code remoteUrl} (the baseline the proxy must
   * beat).
   */
  public static UpstreamRegistry proxyOf(String remoteUrl) {
    return builder().proxyOf(remoteUrl, null).start();
  }

  /** As {@link #proxyOf(String)}, logging in to the remote with {@code remoteCredentials}. */
  public static UpstreamRegistry proxyOf(String remoteUrl, Credentials remoteCredentials) {
    return builder()
        .proxyOf(remoteUrl, requireNonNull(remoteCredentials, "remoteCredentials"))
        .start();
  }

  /** Configures and starts an {@link UpstreamRegistry}. */
  public static final class Builder {
    private final List<Credentials> htpasswdUsers = new ArrayList<>();
    private TokenServer tokens;
    private String remoteUrl;
    private Credentials remoteCredentials;
    private Path dataDir;
    private int port;
    private String extraYaml = "";

    private Builder() {}

    /** Requires Basic auth; every listed user may pull and push (htpasswd has no authorization). */
    public Builder htpasswd(Credentials... users) {
      htpasswdUsers.addAll(List.of(users));
      return this;
    }

    public Builder tokenAuth(TokenServer tokenServer) {
      this.tokens = requireNonNull(tokenServer, "tokenServer");
      return this;
    }

    /** Makes it a pull-through cache ({@code proxy.remoteurl}); credentials may be null. */
    public Builder proxyOf(String url, Credentials credentials) {
      this.remoteUrl = requireNonNull(url, "url");
      this.remoteCredentials = credentials;
      return this;
    }

    /**
     * Uses this data directory (e.g. one shared with another registry) instead of a private one; it
     * is not deleted.
     */
    public Builder dataDir(Path dir) {
      this.dataDir = requireNonNull(dir, "dir");
      return this;
    }

    /** Binds this port instead of a free one. */
    public Builder port(int p) {
      this.port = p;
      return this;
    }

    /**
     * Appends top-level YAML (e.g. {@code "notifications: ..."}); must not repeat keys the harness
     * writes.
     */
    public Builder extraYaml(String yaml) {
      this.extraYaml = requireNonNull(yaml, "yaml");
      return this;
    }

    public UpstreamRegistry start() {
      if (!htpasswdUsers.isEmpty() && tokens != null) {
        throw new IllegalStateException("htpasswd and token auth are exclusive");
      }
      UpstreamRegistry registry = new UpstreamRegistry(this, TempDirs.create("registry"));
      try {
        registry.startFirstTime();
        return registry;
      } catch (RuntimeException e) {
        registry.close();
        throw e;
      }
    }
  }

  private void startFirstTime() {
    try {
      Files.createDirectories(dataDir);
      if (!spec.htpasswdUsers.isEmpty()) {
        Htpasswd.write(dir.resolve("htpasswd"), spec.htpasswdUsers);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    boolean fixedPort = port != 0;
    for (int attempt = 1; ; attempt++) {
      if (!fixedPort) {
        port = Ports.free();
      }
      try {
        start();
        return;
      } catch (IllegalStateException e) {
        // Another agent may have taken the port between our probe and the registry's bind.
        boolean portTaken =
            process != null && process.logTail(4_000).contains("address already in use");
        if (fixedPort || !portTaken || attempt == 3) {
          throw e;
        }
      }
    }
  }

  /**
   * Starts (or restarts after {@link #stop()}) the registry on the same port and data; waits for
   * /v2/.
   */
  public synchronized void start() {
    if (isRunning()) {
      return;
    }
    writeConfig();
    Map<String, String> env = new HashMap<>();
    System.getenv().keySet().stream()
        .filter(k -> k.startsWith("REGISTRY_"))
        .forEach(k -> env.put(k, null));
    process =
        ManagedProcess.start(
            "docker-registry:" + port,
            List.of("docker-registry", "serve", configFile.toString()),
            env,
            logFile);
    int expected = authMode() == AuthMode.NONE ? 200 : 401;
    Http.await(url() + "/v2/", status -> status == expected, process, STARTUP_TIMEOUT);
  }

  /**
   * Stops the registry (SIGTERM, then SIGKILL) but keeps its port and data for {@link #start()}.
   */
  public synchronized void stop() {
    if (process != null) {
      process.stop(Duration.ofSeconds(10));
    }
  }

  /** Kills the registry with SIGKILL, keeping port and data. */
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

  /**
   * Stops the registry by pid and deletes its private directory (and the data, unless it was
   * given).
   */
  @Override
  public synchronized void close() {
    try {
      stop();
    } finally {
      TempDirs.deleteRecursively(dir);
    }
  }

  /** How clients must authenticate to this registry. */
  public enum AuthMode {
    NONE,
    HTPASSWD,
    TOKEN
  }

  public AuthMode authMode() {
    if (!spec.htpasswdUsers.isEmpty()) {
      return AuthMode.HTPASSWD;
    }
    return spec.tokens != null ? AuthMode.TOKEN : AuthMode.NONE;
  }

  /** Credentials that may push to this registry (empty when it is open or a pull-through cache). */
  public Optional<Credentials> pushCredentials() {
    return switch (authMode()) {
      case NONE -> Optional.empty();
      case HTPASSWD -> Optional.of(spec.htpasswdUsers.get(0));
      case TOKEN -> Optional.of(spec.tokens.admin());
    };
  }

  public int port() {
    return port;
  }

  /** {@code 127.0.0.1:<port>}, the registry host as clients name it. */
  public String hostPort() {
    return "127.0.0.1:" + port;
  }

  /** {@code http://127.0.0.1:<port>}. */
  public String url() {
    return "http://" + hostPort();
  }

  public Path dataDir() {
    return dataDir;
  }

  public Path configFile() {
    return configFile;
  }

  public Path logFile() {
    return logFile;
  }

  /** The running process (null before the first start). */
  public synchronized ManagedProcess process() {
    return process;
  }

  /**
   * Deletes the manifest {@code repo@digest} (and so every tag on it) through the registry API,
   * with skopeo.
   */
  public void deleteManifest(String repo, String digest) {
    Skopeo.delete(hostPort() + "/" + repo + "@" + digest, pushCredentials().orElse(null));
  }

  /**
   * Where distribution's filesystem driver keeps the bytes of {@code digest}; tests may corrupt
   * them.
   */
  public Path blobDataPath(String digest) {
    String[] parts = digest.split(":", 2);
    return dataDir
        .resolve("docker/registry/v2/blobs")
        .resolve(parts[0])
        .resolve(parts[1].substring(0, 2))
        .resolve(parts[1])
        .resolve("data");
  }

  private void writeConfig() {
    StringBuilder y =
        new StringBuilder()
            .append("version: 0.1\n")
            .append("log:\n  level: info\n  formatter: text\n")
            .append("storage:\n")
            .append("  filesystem:\n    rootdirectory: ")
            .append(Yaml.quote(dataDir.toString()))
            .append('\n')
            .append("  delete:\n    enabled: true\n")
            .append("  maintenance:\n    uploadpurging:\n      enabled: false\n")
            .append("http:\n  addr: ")
            .append(Yaml.quote(hostPort()))
            .append('\n')
            .append("  secret: harness-fixed-secret\n")
            .append("health:\n  storagedriver:\n    enabled: false\n");
    switch (authMode()) {
      case HTPASSWD ->
          y.append("auth:\n  htpasswd:\n    realm: harness\n    path: ")
              .append(Yaml.quote(dir.resolve("htpasswd").toString()))
              .append('\n');
      case TOKEN ->
          y.append("auth:\n  token:\n")
              .append("    realm: ")
              .append(Yaml.quote(spec.tokens.realm()))
              .append('\n')
              .append("    service: ")
              .append(Yaml.quote(spec.tokens.service()))
              .append('\n')
              .append("    issuer: ")
              .append(Yaml.quote(spec.tokens.issuer()))
              .append('\n')
              .append("    rootcertbundle: ")
              .append(Yaml.quote(spec.tokens.rootCertBundle().toString()))
              .append('\n');
      case NONE -> {}
    }
    if (spec.remoteUrl != null) {
      y.append("proxy:\n  remoteurl: ").append(Yaml.quote(spec.remoteUrl)).append('\n');
      if (spec.remoteCredentials != null) {
        y.append("  username: ")
            .append(Yaml.quote(spec.remoteCredentials.username()))
            .append('\n')
            .append("  password: ")
            .append(Yaml.quote(spec.remoteCredentials.password()))
            .append('\n');
      }
    }
    y.append(spec.extraYaml);
    try {
      Files.writeString(configFile, y.toString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
