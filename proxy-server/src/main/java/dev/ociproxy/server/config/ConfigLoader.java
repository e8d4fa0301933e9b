package dev.ociproxy.server.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.ociproxy.core.registry.MirrorOptions;
import dev.ociproxy.core.upstream.UpstreamOptions;
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
    Obj top = new Obj("", root);
    top.only("listen", "cache", "upstreams", "limits");
    InetSocketAddress listen = address("listen", top.text("listen", "0.0.0.0:5000"));
    Obj cache = top.obj("cache");
    cache.only("dir", "maxSize", "verifyOnStart", "tagTtl", "manifestMaxBytes");
    long maxSize = cache.size("maxSize", 0);
    boolean verifyOnStart = cache.bool("verifyOnStart", false);
    Path dir = Path.of(cache.text("dir", defaultCacheDir()));
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
      Obj u = new Obj("upstreams[" + i + "]", ups.get(i));
      u.only(
          "name", "url", "default", "username", "password", "passwordFile", "caFile",
          "tagTtl", "connectTimeout", "readTimeout", "manifestTimeout", "trustedRealmHosts");
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
          realms);
      MirrorOptions mirror = new MirrorOptions(
          manifestMax, u.duration("tagTtl", tagTtl), u.duration("manifestTimeout", Duration.ofSeconds(60)));
      upstreams.add(new ProxyConfig.Upstream(options, mirror, isDefault));
    }
    Obj limits = top.obj("limits");
    limits.only("maxInitialLineLength", "maxHeaderSize");
    ProxyConfig.Limits lim = new ProxyConfig.Limits(
        (int) limits.size("maxInitialLineLength", 8192), (int) limits.size("maxHeaderSize", 16384), 0);
    return new ProxyConfig(listen, dir, maxSize, verifyOnStart, List.copyOf(upstreams), lim);
  }

  private String defaultCacheDir() {
    String xdg = env.apply("XDG_CACHE_HOME");
    return xdg != null && !xdg.isBlank() ? Path.of(xdg, "registry-proxy").toString() : "cache";
  }

  private static InetSocketAddress address(String key, String value) {
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
    if (u.getRawQuery() != null || u.getRawFragment() != null || u.getRawUserInfo() != null) {
      throw new ConfigException(key, "'" + value + "' must not carry a query, fragment or credentials");
    }
    return u;
  }

  static Duration parseDuration(String key, String v) {
    Matcher m = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)?").matcher(v.trim());
    if (!m.matches()) {
      throw new ConfigException(key, "'" + v + "' (expected a duration such as 500ms, 30s, 5m, 1h)");
    }
    long n = Long.parseLong(m.group(1));
    String unit = m.group(2) == null ? "s" : m.group(2);
    return switch (unit) {
      case "ms" -> Duration.ofMillis(n);
      case "m" -> Duration.ofMinutes(n);
      case "h" -> Duration.ofHours(n);
      case "d" -> Duration.ofDays(n);
      default -> Duration.ofSeconds(n);
    };
  }

  static long parseSize(String key, String v) {
    Matcher m = Pattern.compile("(\\d+)\\s*(B|KB|KiB|MB|MiB|GB|GiB|TB|TiB)?").matcher(v.trim());
    if (!m.matches()) {
      throw new ConfigException(key, "'" + v + "' (expected a size such as 4MiB or 50GiB)");
    }
    long n = Long.parseLong(m.group(1));
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
    return Math.multiplyExact(n, mult);
  }

  /** A mapping in the tree, with the key path used in messages. */
  private final class Obj {
    final String path;
    final JsonNode node;

    Obj(String path, JsonNode node) {
      if (!node.isMissingNode() && !node.isObject()) {
        throw new ConfigException(path.isEmpty() ? "(file)" : path, "expected a mapping of keys");
      }
      this.path = path;
      this.node = node;
    }

    String key(String k) {
      return path.isEmpty() ? k : path + "." + k;
    }

    void only(String... allowed) {
      Set<String> ok = Set.of(allowed);
      for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
        String k = it.next().getKey();
        if (!ok.contains(k)) {
          throw new ConfigException(key(k), "unknown key (known here: " + String.join(", ", allowed) + ")");
        }
      }
    }

    Obj obj(String k) {
      return new Obj(key(k), node.path(k));
    }

    String text(String k, String dflt) {
      JsonNode v = node.path(k);
      if (v.isMissingNode() || v.isNull()) {
        return dflt;
      }
      if (!v.isValueNode()) {
        throw new ConfigException(key(k), "expected a single value");
      }
      return substitute(key(k), v.asText());
    }

    String required(String k) {
      String v = text(k, null);
      if (v == null || v.isBlank()) {
        throw new ConfigException(key(k), "missing (required)");
      }
      return v;
    }

    boolean bool(String k, boolean dflt) {
      JsonNode v = node.path(k);
      if (v.isMissingNode() || v.isNull()) {
        return dflt;
      }
      if (!v.isBoolean()) {
        throw new ConfigException(key(k), "'" + v.asText() + "' (expected true or false)");
      }
      return v.asBoolean();
    }

    Duration duration(String k, Duration dflt) {
      String v = text(k, null);
      return v == null ? dflt : parseDuration(key(k), v);
    }

    long size(String k, long dflt) {
      String v = text(k, null);
      return v == null ? dflt : parseSize(key(k), v);
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
