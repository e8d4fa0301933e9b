package dev.ociproxy.server.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.ociproxy.core.cache.DirectWrites;
import dev.ociproxy.core.registry.MirrorOptions;
import dev.ociproxy.core.upstream.UpstreamOptions;
import dev.ociproxy.server.auth.AccessRule;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads {@code proxy.yaml} into a {@link ProxyConfig}. Walks the tree by hand rather than binding
 * it, so every error names the exact key ({@code upstreams[1].url: …}) and unknown keys are
 * refused instead of silently ignored.
 */
public final class ConfigLoader {
  private static final Pattern ENV_REF = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)\\}");
  private static final Pattern UPSTREAM_NAME =
      Pattern.compile("[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?");

  private final UnaryOperator<String> env;

  public ConfigLoader(UnaryOperator<String> env) {
    this.env = env;
  }

  public static ConfigLoader withSystemEnv() {
    return new ConfigLoader(System::getenv);
  }

  /** The configuration used when no file is given: Docker Hub as the default upstream. */
  public ProxyConfig defaults() {
    return parse("upstreams:\n  - name: docker.io\n    url: https://registry-1.docker.io\n    default: true\n");
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
    JsonNode root;
    try {
      root = new ObjectMapper(new YAMLFactory()).readTree(yaml);
    } catch (JsonProcessingException e) {
      throw new ConfigException(
          "(file)", "not valid YAML: " + e.getOriginalMessage().replace('\n', ' '));
    }
    if (root == null || root.isMissingNode() || root.isNull()) {
      root = MissingNode.getInstance();
    } else if (!root.isObject()) {
      throw new ConfigException("(file)", "expected a mapping of keys at the top level");
    }
    ConfigNode top = new ConfigNode("", root, this::substitute);
    top.only("listen", "cache", "upstreams", "limits", "auth", "access", "admin", "tls", "log", "shutdownGracePeriod",
        "offline", "policy", "pins", "warm", "warmInterval");
    InetSocketAddress listen = address("listen", top.text("listen", "0.0.0.0:5000"));
    ConfigNode cache = top.obj("cache");
    cache.only("dir", "maxSize", "verifyOnStart", "tagTtl", "manifestMaxBytes", "finishAbandonedDownloads",
        "directWrites");
    String directText = cache.text("directWrites", "auto").trim();
    DirectWrites directWrites = switch (directText) {
      case "auto" -> DirectWrites.AUTO;
      case "true" -> DirectWrites.ALWAYS;
      case "false" -> DirectWrites.NEVER;
      default -> throw new ConfigException(cache.key("directWrites"),
          "'" + directText + "' (expected auto, true or false)");
    };
    boolean finishAbandoned = cache.bool("finishAbandonedDownloads", true);
    long maxSize = cache.size("maxSize", 0);
    boolean verifyOnStart = cache.bool("verifyOnStart", false);
    Path dir = Path.of(cache.text("dir", defaultCacheDir()));
    if (Files.exists(dir) && !Files.isDirectory(dir)) {
      throw new ConfigException(cache.key("dir"), "'" + dir + "' exists and is not a directory");
    }
    Duration tagTtl = cache.duration("tagTtl", Duration.ofSeconds(30));
    long manifestMax = cache.size("manifestMaxBytes", MirrorOptions.DEFAULT_MANIFEST_MAX_BYTES);

    JsonNode ups = top.node.path("upstreams");
    if (ups.isMissingNode()) {
      throw new ConfigException("upstreams", "missing (expected: a list with at least one upstream)");
    }
    if (!ups.isArray() || ups.isEmpty()) {
      throw new ConfigException("upstreams", "expected a non-empty list");
    }
    List<ProxyConfig.Upstream> upstreams = new ArrayList<>();
    Set<String> names = new HashSet<>();
    String defaultName = null;
    for (int i = 0; i < ups.size(); i++) {
      ConfigNode u = new ConfigNode("upstreams[" + i + "]", ups.get(i), this::substitute);
      u.only(
          "name", "url", "default", "username", "password", "passwordFile", "caFile",
          "tagTtl", "connectTimeout", "readTimeout", "firstByteTimeout", "manifestTimeout", "trustedRealmHosts",
          "offline", "policy", "maxConcurrentRequests", "requestsPerSecond", "freshness");
      String name = u.required("name");
      if (!UPSTREAM_NAME.matcher(name).matches()) {
        throw new ConfigException(u.key("name"),
            "'" + name + "' is not a registry host name (expected e.g. registry.example.com or host:5000, lower case)");
      }
      if (!names.add(name)) {
        throw new ConfigException(u.key("name"), "'" + name + "' is used by two upstreams");
      }
      URI url = url(u.key("url"), u.required("url"));
      boolean isDefault = u.bool("default", false);
      if (isDefault) {
        if (defaultName != null) {
          throw new ConfigException(u.key("default"),
              "two upstreams are marked default ('" + defaultName + "' and '" + name + "')");
        }
        defaultName = name;
      }
      String username = u.text("username", null);
      String password = u.text("password", null);
      String passwordFile = u.text("passwordFile", null);
      if (password != null && passwordFile != null) {
        throw new ConfigException(u.key("passwordFile"), "give either password or passwordFile, not both");
      }
      if (passwordFile != null) {
        try {
          password = Files.readString(Path.of(passwordFile), StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
          throw new ConfigException(u.key("passwordFile"), "cannot read " + passwordFile + ": " + e.getMessage());
        }
      }
      if ((username == null) != (password == null)) {
        throw new ConfigException(
            u.key(username == null ? "username" : "password"),
            "missing (username and password go together)");
      }
      String ca = u.text("caFile", null);
      Path caFile = null;
      if (ca != null) {
        caFile = Path.of(ca);
        if (!Files.isReadable(caFile)) {
          throw new ConfigException(u.key("caFile"), "cannot read " + ca);
        }
        checkCertificates(u.key("caFile"), caFile);
      }
      Set<String> realms = new LinkedHashSet<>();
      JsonNode rh = u.node.path("trustedRealmHosts");
      if (!rh.isMissingNode()) {
        if (!rh.isArray()) {
          throw new ConfigException(u.key("trustedRealmHosts"), "expected a list of host names");
        }
        rh.forEach(h -> realms.add(h.asText().toLowerCase(Locale.ROOT)));
      }
      UpstreamOptions options = new UpstreamOptions(
          name, url, username, password, caFile,
          u.duration("connectTimeout", Duration.ofSeconds(10)),
          u.duration("readTimeout", Duration.ofSeconds(30)),
          realms,
          u.duration("firstByteTimeout", Duration.ofSeconds(30)));
      MirrorOptions mirror = new MirrorOptions(
          manifestMax, u.duration("tagTtl", tagTtl), u.duration("manifestTimeout", Duration.ofSeconds(60)),
          finishAbandoned, UpstreamBudgetSettings.freshness(u));
      upstreams.add(new ProxyConfig.Upstream(options, mirror, isDefault, UpstreamBudgetSettings.limits(u)));
    }
    ConfigNode limits = top.obj("limits");
    limits.only("maxInitialLineLength", "maxHeaderSize", "maxHeaders", "maxConnections", "idleTimeout",
        "maxConcurrentFetches");
    ProxyConfig.Limits d = ProxyConfig.Limits.defaults();
    ProxyConfig.Limits lim = new ProxyConfig.Limits(
        limits.positiveInt("maxInitialLineLength", d.maxInitialLineLength()),
        limits.positiveInt("maxHeaderSize", d.maxHeaderSize()),
        limits.positiveInt("maxHeaders", d.maxHeaders()),
        limits.positiveInt("maxConnections", d.maxConnections()),
        limits.duration("idleTimeout", d.idleTimeout()),
        limits.positiveInt("maxConcurrentFetches", d.maxConcurrentFetches()));
    ProxyConfig.Auth auth = auth(top.obj("auth"));
    List<AccessRule> access = access(top.node.path("access"), names, auth);
    return new ProxyConfig(listen, dir, maxSize, verifyOnStart, directWrites, List.copyOf(upstreams), lim, auth, access,
        OperationsSettings.parse(top, listen, env), AirgapSettings.parse(top.node, upstreams, defaultName));
  }

  private ProxyConfig.Auth auth(ConfigNode a) {
    if (a.node.isMissingNode()) {
      return ProxyConfig.Auth.disabled();
    }
    a.only("realm", "htpasswd", "tokens", "groups");
    Path htpasswd = readableFile(a, "htpasswd");
    Path tokens = readableFile(a, "tokens");
    if (htpasswd == null && tokens == null) {
      throw new ConfigException(a.key("htpasswd"), "missing (auth needs an htpasswd file, a tokens file, or both)");
    }
    Map<String, Set<String>> groups = new java.util.HashMap<>();
    JsonNode g = a.node.path("groups");
    if (!g.isMissingNode()) {
      if (!g.isObject()) {
        throw new ConfigException(a.key("groups"), "expected a mapping of group name to a list of users");
      }
      for (Iterator<Map.Entry<String, JsonNode>> it = g.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        for (String user : list(a.key("groups") + "." + e.getKey(), e.getValue())) {
          groups.computeIfAbsent(user, u -> new HashSet<>()).add(e.getKey());
        }
      }
    }
    try {
      dev.ociproxy.server.auth.CredentialStore.load(htpasswd, tokens, groups);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(a.key(htpasswd != null && e.getMessage().startsWith(htpasswd.toString()) ? "htpasswd" : "tokens"),
          e.getMessage());
    }
    return new ProxyConfig.Auth(true, a.text("realm", "registry-proxy"), htpasswd, tokens, groups);
  }

  private Path readableFile(ConfigNode o, String k) {
    String v = o.text(k, null);
    if (v == null) {
      return null;
    }
    Path p = Path.of(v);
    if (!Files.isReadable(p)) {
      throw new ConfigException(o.key(k), "cannot read " + v);
    }
    return p;
  }

  private List<AccessRule> access(JsonNode node, Set<String> upstreamNames, ProxyConfig.Auth auth) {
    if (node.isMissingNode()) {
      return List.of();
    }
    if (!node.isArray()) {
      throw new ConfigException("access", "expected a list of rules");
    }
    List<AccessRule> rules = new ArrayList<>();
    for (int i = 0; i < node.size(); i++) {
      ConfigNode r = new ConfigNode("access[" + i + "]", node.get(i), this::substitute);
      r.only("upstream", "repositories", "anonymous", "users", "groups");
      String upstream = r.text("upstream", "*");
      if (!upstream.equals("*") && !upstreamNames.contains(upstream)) {
        throw new ConfigException(r.key("upstream"), "'" + upstream + "' is not a configured upstream");
      }
      String prefix = r.text("repositories", "");
      if (prefix.equals("*")) {
        prefix = "";
      }
      boolean anonymous = r.bool("anonymous", false);
      Set<String> users = Set.copyOf(list(r.key("users"), r.node.path("users")));
      Set<String> groups = Set.copyOf(list(r.key("groups"), r.node.path("groups")));
      if (!anonymous && !auth.enabled()) {
        throw new ConfigException(r.key("anonymous"),
            "false, but no auth is configured, so no client could ever pull (add auth.htpasswd or auth.tokens)");
      }
      rules.add(new AccessRule(upstream, prefix, anonymous, users, groups));
    }
    return List.copyOf(rules);
  }

  private List<String> list(String key, JsonNode n) {
    if (n.isMissingNode() || n.isNull()) {
      return List.of();
    }
    if (!n.isArray()) {
      throw new ConfigException(key, "expected a list");
    }
    List<String> out = new ArrayList<>();
    n.forEach(v -> out.add(substitute(key, v.asText())));
    return out;
  }

  /** Parses a PEM CA bundle now, so --check-config reports a bad one rather than the first pull. */
  private static void checkCertificates(String key, Path file) {
    try (var in = Files.newInputStream(file)) {
      if (java.security.cert.CertificateFactory.getInstance("X.509").generateCertificates(in).isEmpty()) {
        throw new ConfigException(key, file + " holds no certificate (expected PEM -----BEGIN CERTIFICATE-----)");
      }
    } catch (IOException | java.security.cert.CertificateException e) {
      throw new ConfigException(key, file + " is not a PEM certificate file: " + e.getMessage());
    }
  }

  private String defaultCacheDir() {
    String xdg = env.apply("XDG_CACHE_HOME");
    return xdg != null && !xdg.isBlank() ? Path.of(xdg, "registry-proxy").toString() : "cache";
  }

  static InetSocketAddress address(String key, String value) {
    int colon = value.lastIndexOf(':');
    if (colon <= 0) {
      throw new ConfigException(key, "'" + value + "' (expected host:port, e.g. 0.0.0.0:5000)");
    }
    String host = value.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port;
    try {
      port = Integer.parseInt(value.substring(colon + 1));
    } catch (NumberFormatException e) {
      port = -1;
    }
    if (port < 0 || port > 65535) {
      throw new ConfigException(key, "'" + value + "' has no valid port (expected 0-65535)");
    }
    return new InetSocketAddress(host, port);
  }

  private static URI url(String key, String value) {
    URI u;
    try {
      u = new URI(value);
    } catch (URISyntaxException e) {
      throw new ConfigException(key, "'" + value + "' is not a URL: " + e.getReason());
    }
    String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https")) {
      throw new ConfigException(key, "'" + value + "' (expected an http:// or https:// URL)");
    }
    if (u.getHost() == null) {
      throw new ConfigException(key, "'" + value + "' has no host");
    }
    if (u.getRawUserInfo() != null) {
      // Do not echo the value: it holds a password, and this message ends up in logs.
      throw new ConfigException(key, "must not carry credentials (use username and password)");
    }
    if (u.getRawQuery() != null || u.getRawFragment() != null) {
      throw new ConfigException(key, "'" + value + "' must not carry a query or fragment");
    }
    return u;
  }

  static Duration parseDuration(String key, String v) {
    Matcher m = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)?").matcher(v.trim());
    if (!m.matches()) {
      throw new ConfigException(key, "'" + v + "' (expected a duration such as 500ms, 30s, 5m, 1h)");
    }
    String unit = m.group(2) == null ? "s" : m.group(2);
    try {
      long n = Long.parseLong(m.group(1));
      return switch (unit) {
        case "ms" -> Duration.ofMillis(n);
        case "m" -> Duration.ofMinutes(n);
        case "h" -> Duration.ofHours(n);
        case "d" -> Duration.ofDays(n);
        default -> Duration.ofSeconds(n);
      };
    } catch (NumberFormatException | ArithmeticException e) {
      throw new ConfigException(key, "'" + v + "' is too large");
    }
  }

  static long parseSize(String key, String v) {
    Matcher m = Pattern.compile("(\\d+)\\s*(B|KB|KiB|MB|MiB|GB|GiB|TB|TiB)?").matcher(v.trim());
    if (!m.matches()) {
      throw new ConfigException(key, "'" + v + "' (expected a size such as 4MiB or 50GiB)");
    }
    String unit = m.group(2) == null ? "B" : m.group(2);
    long mult = switch (unit) {
      case "KB" -> 1000L;
      case "KiB" -> 1L << 10;
      case "MB" -> 1000L * 1000;
      case "MiB" -> 1L << 20;
      case "GB" -> 1000L * 1000 * 1000;
      case "GiB" -> 1L << 30;
      case "TB" -> 1000L * 1000 * 1000 * 1000;
      case "TiB" -> 1L << 40;
      default -> 1L;
    };
    try {
      return Math.multiplyExact(Long.parseLong(m.group(1)), mult);
    } catch (NumberFormatException | ArithmeticException e) {
      throw new ConfigException(key, "'" + v + "' is too large");
    }
  }

  /** Replaces {@code ${VAR}} with the environment variable, refusing unset ones. */
  private String substitute(String key, String v) {
    Matcher m = ENV_REF.matcher(v);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String value = env.apply(m.group(1));
      if (value == null) {
        throw new ConfigException(key, "refers to ${" + m.group(1) + "}, which is not set in the environment");
      }
      m.appendReplacement(out, Matcher.quoteReplacement(value));
    }
    m.appendTail(out);
    return out.toString();
  }
}
