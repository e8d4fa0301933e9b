package dev.ociproxy.server.config;

import dev.ociproxy.server.auth.AdminToken;
import dev.ociproxy.server.tls.PemKeyPair;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.function.UnaryOperator;
import org.jspecify.annotations.Nullable;

/**
 * The keys about running the proxy rather than proxying: admin, tls, log, shutdownGracePeriod,
 * startupWarmUp.
 */
final class OperationsSettings {
  private static final List<String> LOG_LEVELS =
      List.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF");

  private OperationsSettings() {}

  static ProxyConfig.Operations parse(
      ConfigFile f, InetSocketAddress listen, UnaryOperator<String> env) {
    ConfigFile.Admin admin = f.admin();
    InetSocketAddress adminListen = admin.listen();
    if (adminListen != null && adminListen.getPort() != 0 && adminListen.equals(listen)) {
      throw new ConfigException(
          "admin.listen",
          "'"
              + adminListen.getHostString()
              + ":"
              + adminListen.getPort()
              + "' is the main listen address (expected another port, or no admin.listen)");
    }
    AdminToken adminToken = adminToken(admin);
    if (adminToken != null && adminListen == null) {
      throw new ConfigException(
          admin.token() != null ? "admin.token" : "admin.tokenFile",
          "guards the admin actions, which are served only on admin.listen (expected admin.listen too)");
    }
    String level = f.log().level();
    if (level != null && !LOG_LEVELS.contains(level.toUpperCase(Locale.ROOT))) {
      throw new ConfigException(
          "log.level", "'" + level + "' (expected one of " + String.join(", ", LOG_LEVELS) + ")");
    }
    Duration grace =
        ConfigLoader.orElse(f.shutdownGracePeriod(), ProxyConfig.Operations.DEFAULT_SHUTDOWN_GRACE);
    Duration warmUp =
        ConfigLoader.orElse(f.startupWarmUp(), ProxyConfig.Operations.DEFAULT_STARTUP_WARM_UP);
    return new ProxyConfig.Operations(
        adminListen,
        adminToken,
        tls(f.tls()),
        logFormat(f.log().format(), env),
        level == null ? null : level.toUpperCase(Locale.ROOT),
        grace,
        warmUp);
  }

  /**
   * {@code admin.token}, or what {@code admin.tokenFile} holds (trimmed), or null when neither is
   * set.
   */
  private static @Nullable AdminToken adminToken(ConfigFile.Admin admin) {
    String token = admin.token();
    String file = admin.tokenFile();
    if (token != null && file != null) {
      throw new ConfigException("admin.tokenFile", "give either token or tokenFile, not both");
    }
    String key = file != null ? "admin.tokenFile" : "admin.token";
    if (file != null) {
      try {
        token = Files.readString(Path.of(file), StandardCharsets.UTF_8).strip();
      } catch (IOException | RuntimeException e) {
        throw new ConfigException(key, "cannot read " + file + ": " + e.getMessage());
      }
    }
    if (token == null) {
      return null;
    }
    try {
      return new AdminToken(token);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(key, e.getMessage());
    }
  }

  /** {@code log.format}, else the LOG_FORMAT environment variable, else text. */
  private static ProxyConfig.LogFormat logFormat(@Nullable String v, UnaryOperator<String> env) {
    String key = "log.format";
    if (v == null) {
      v = env.apply("LOG_FORMAT");
      key = "LOG_FORMAT (environment)";
    }
    if (v == null || v.isBlank()) {
      return ProxyConfig.LogFormat.TEXT;
    }
    return switch (v.trim().toLowerCase(Locale.ROOT)) {
      case "text" -> ProxyConfig.LogFormat.TEXT;
      case "json" -> ProxyConfig.LogFormat.JSON;
      default -> throw new ConfigException(key, "'" + v + "' (expected text or json)");
    };
  }

  /** {@code tls.cert} and {@code tls.key}: read and checked now, so a bad pair fails the start. */
  private static ProxyConfig.@Nullable Tls tls(ConfigFile.@Nullable Tls t) {
    if (t == null) {
      return null;
    }
    Path cert = Path.of(ConfigLoader.required("tls.cert", t.cert()));
    Path key = Path.of(ConfigLoader.required("tls.key", t.key()));
    try {
      PemKeyPair.read(cert, key);
    } catch (PemKeyPair.InvalidPemException e) {
      throw new ConfigException(
          e.which() == PemKeyPair.Which.CERT ? "tls.cert" : "tls.key", e.getMessage());
    }
    return new ProxyConfig.Tls(
        cert, key, ConfigLoader.orElse(t.reloadInterval(), Duration.ofSeconds(30)));
  }
}
