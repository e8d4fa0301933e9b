package dev.ociproxy.server.config;

import dev.ociproxy.core.cache.DirectWrites;
import dev.ociproxy.core.cluster.ClusterOptions;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.UnaryOperator;
import org.jspecify.annotations.Nullable;

/**
 * Reads {@code proxy.yaml} into a {@link ProxyConfig}: {@link ConfigBinding} binds the file into
 * {@link ConfigFile} (shapes, unknown keys, value syntax), then each section's settings class
 * applies the defaults and the rules between keys. Every error names the exact key ({@code
 * upstreams[1].url: …}).
 */
public final class ConfigLoader {
  private final UnaryOperator<String> env;

  public ConfigLoader(UnaryOperator<String> env) {
    this.env = env;
  }

  public static ConfigLoader withSystemEnv() {
    return new ConfigLoader(System::getenv);
  }

  /** The configuration used when no file is given: Docker Hub as the default upstream. */
  public ProxyConfig defaults() {
    return parse(
        "upstreams:\n  - name: docker.io\n    url: https://registry-1.docker.io\n    default: true\n");
  }

  public ProxyConfig load(Path file) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new ConfigException("--config", "cannot read " + file + ": " + e.getMessage());
    }
    return parse(text);
  }

  public ProxyConfig parse(String yaml) {
    ConfigFile f = ConfigBinding.bind(yaml, env);
    InetSocketAddress listen = orElse(f.listen(), new InetSocketAddress("0.0.0.0", 5000));
    ConfigFile.Cache cache = f.cache();
    Path dir = Path.of(orElse(cache.dir(), defaultCacheDir()));
    if (Files.exists(dir) && !Files.isDirectory(dir)) {
      throw new ConfigException("cache.dir", "'" + dir + "' exists and is not a directory");
    }
    DirectWrites directWrites = directWrites(orElse(cache.directWrites(), "auto").trim());
    List<ProxyConfig.Upstream> upstreams = UpstreamSettings.parse(f.upstreams(), cache);
    ProxyConfig.Auth auth = AccessSettings.auth(f.auth());
    ProxyConfig.Operations operations = OperationsSettings.parse(f, listen, env);
    ClusterOptions cluster = ClusterSettings.parse(f.cluster(), listen, operations);
    return new ProxyConfig(
        listen,
        dir,
        orElse(cache.maxSize(), 0L),
        orElse(cache.verifyOnStart(), false),
        directWrites,
        upstreams,
        limits(f.limits()),
        auth,
        AccessSettings.access(f.access(), upstreams, auth),
        operations,
        AirgapSettings.parse(f, upstreams),
        SignaturePolicySettings.parse(f.signaturePolicy(), env),
        StorageSettings.parse(f.storage(), cluster),
        cluster);
  }

  private static DirectWrites directWrites(String v) {
    return switch (v) {
      case "auto" -> DirectWrites.AUTO;
      case "true" -> DirectWrites.ALWAYS;
      case "false" -> DirectWrites.NEVER;
      default ->
          throw new ConfigException(
              "cache.directWrites", "'" + v + "' (expected auto, true or false)");
    };
  }

  private static ProxyConfig.Limits limits(ConfigFile.Limits l) {
    ProxyConfig.Limits d = ProxyConfig.Limits.defaults();
    return new ProxyConfig.Limits(
        orElse(l.maxInitialLineLength(), d.maxInitialLineLength()),
        orElse(l.maxHeaderSize(), d.maxHeaderSize()),
        orElse(l.maxHeaders(), d.maxHeaders()),
        orElse(l.maxConnections(), d.maxConnections()),
        orElse(l.idleTimeout(), d.idleTimeout()),
        orElse(l.maxConcurrentFetches(), d.maxConcurrentFetches()));
  }

  private String defaultCacheDir() {
    String xdg = env.apply("XDG_CACHE_HOME");
    return xdg != null && !xdg.isBlank() ? Path.of(xdg, "registry-proxy").toString() : "cache";
  }

  /** {@code value}, or {@code dflt} when the key was not given. */
  static <T> T orElse(@Nullable T value, T dflt) {
    return value != null ? value : dflt;
  }

  /** A key that must be given and not blank. */
  static String required(String key, @Nullable String value) {
    if (value == null || value.isBlank()) {
      throw new ConfigException(key, "missing (required)");
    }
    return value;
  }
}
