package dev.ociproxy.server.config;

import dev.ociproxy.server.auth.AdminToken;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.function.UnaryOperator;

/** The keys about running the proxy rather than proxying: admin, tls, log, shutdownGracePeriod. */
final class OperationsSettings {
  private static final List<String> LOG_LEVELS = List.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF");

  private OperationsSettings() {}

  static ProxyConfig.Operations parse(ConfigNode top, InetSocketAddress listen, UnaryOperator<String> env) {
    ConfigNode admin = top.obj("admin");
    admin.only("listen", "token", "tokenFile");
    String adminText = admin.text("listen", null);
    InetSocketAddress adminListen = adminText == null ? null : ConfigLoader.address(admin.key("listen"), adminText);
    if (adminListen != null && adminListen.getPort() != 0 && adminListen.equals(listen)) {
      throw new ConfigException(admin.key("listen"), "'" + adminText + "' is the main listen address (expected another port, or no admin.listen)");
    }
    AdminToken adminToken = adminToken(admin);
    if (adminToken != null && adminListen == null) {
      throw new ConfigException(admin.key(admin.node.has("token") ? "token" : "tokenFile"),
          "guards the admin actions, which are served only on admin.listen (expected admin.listen too)");
    }
    ProxyConfig.Tls tls = tls(top.obj("tls"));
    ConfigNode logKeys = top.obj("log");
    logKeys.only("format", "level");
    ProxyConfig.LogFormat format = logFormat(logKeys, env);
    String level = logKeys.text("level", null);
    if (level != null && !LOG_LEVELS.contains(level.toUpperCase(Locale.ROOT))) {
      throw new ConfigException(logKeys.key("level"), "'" + level + "' (expected one of " + String.join(", ", LOG_LEVELS) + ")");
    }
    Duration grace = top.duration("shutdownGracePeriod", ProxyConfig.Operations.DEFAULT_SHUTDOWN_GRACE);
    return new ProxyConfig.Operations(
        adminListen, adminToken, tls, format, level == null ? null : level.toUpperCase(Locale.ROOT), grace);
  }

  /** {@code admin.token}, or what {@code admin.tokenFile} holds (trimmed), or null when neither is set. */
  private static AdminToken adminToken(ConfigNode admin) {
    String token = admin.text("token", null);
    String file = admin.text("tokenFile", null);
    if (token != null && file != null) {
      throw new ConfigException(admin.key("tokenFile"), "give either token or tokenFile, not both");
    }
    String key = admin.key(file != null ? "tokenFile" : "token");
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
  private static ProxyConfig.LogFormat logFormat(ConfigNode logKeys, UnaryOperator<String> env) {
    String key = logKeys.key("format");
    String v = logKeys.text("format", null);
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
  private static ProxyConfig.Tls tls(ConfigNode t) {
    t.only("cert", "key", "reloadInterval");
    if (t.node.isMissingNode() || t.node.isNull()) {
      return null;
    }
    Path cert = Path.of(t.required("cert"));
    Path key = Path.of(t.required("key"));
    try {
      dev.ociproxy.server.tls.PemKeyPair.read(cert, key);
    } catch (dev.ociproxy.server.tls.PemKeyPair.InvalidPemException e) {
      throw new ConfigException(
          t.key(e.which() == dev.ociproxy.server.tls.PemKeyPair.Which.CERT ? "cert" : "key"), e.getMessage());
    }
    return new ProxyConfig.Tls(cert, key, t.duration("reloadInterval", Duration.ofSeconds(30)));
  }
}
