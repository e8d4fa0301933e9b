package dev.ociproxy.server.config;

import static dev.ociproxy.server.config.ConfigLoader.orElse;

import dev.ociproxy.core.registry.MirrorOptions;
import dev.ociproxy.core.upstream.UpstreamOptions;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The {@code upstreams} list: names, URLs, credentials and timeouts, and the rules between them.
 */
final class UpstreamSettings {
  private static final Pattern UPSTREAM_NAME =
      Pattern.compile("[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?");

  private UpstreamSettings() {}

  /**
   * @param cache the cache section, whose tagTtl, manifestMaxBytes and finishAbandonedDownloads
   *     apply to each
   */
  static List<ProxyConfig.Upstream> parse(
      @Nullable List<ConfigFile.Upstream> ups, ConfigFile.Cache cache) {
    if (ups == null) {
      throw new ConfigException(
          "upstreams", "missing (expected: a list with at least one upstream)");
    }
    if (ups.isEmpty()) {
      throw new ConfigException("upstreams", "expected a non-empty list");
    }
    List<ProxyConfig.Upstream> upstreams = new ArrayList<>();
    Set<String> names = new HashSet<>();
    String defaultName = null;
    for (int i = 0; i < ups.size(); i++) {
      String key = "upstreams[" + i + "]";
      ConfigFile.Upstream u = ups.get(i);
      if (u == null) {
        throw new ConfigException(key, "expected a mapping of keys");
      }
      String name = ConfigLoader.required(key + ".name", u.name());
      if (!UPSTREAM_NAME.matcher(name).matches()) {
        throw new ConfigException(
            key + ".name",
            "'"
                + name
                + "' is not a registry host name (expected e.g. registry.example.com or host:5000, lower case)");
      }
      if (!names.add(name)) {
        throw new ConfigException(key + ".name", "'" + name + "' is used by two upstreams");
      }
      URI url = url(key + ".url", ConfigLoader.required(key + ".url", u.url()));
      boolean isDefault = orElse(u.isDefault(), false);
      if (isDefault && defaultName != null) {
        throw new ConfigException(
            key + ".default",
            "two upstreams are marked default ('" + defaultName + "' and '" + name + "')");
      }
      defaultName = isDefault ? name : defaultName;
      Set<String> realms = new LinkedHashSet<>();
      orElse(u.trustedRealmHosts(), List.<String>of())
          .forEach(h -> realms.add(h.toLowerCase(Locale.ROOT)));
      Duration readTimeout = orElse(u.readTimeout(), Duration.ofSeconds(30));
      String password = password(key, u);
      UpstreamOptions options =
          new UpstreamOptions(
              name,
              url,
              u.username(),
              password,
              caFile(key + ".caFile", u.caFile()),
              orElse(u.connectTimeout(), Duration.ofSeconds(10)),
              readTimeout,
              realms,
              orElse(u.firstByteTimeout(), Duration.ofSeconds(30)));
      MirrorOptions mirror =
          new MirrorOptions(
              orElse(cache.manifestMaxBytes(), MirrorOptions.DEFAULT_MANIFEST_MAX_BYTES),
              orElse(u.tagTtl(), orElse(cache.tagTtl(), Duration.ofSeconds(30))),
              orElse(u.manifestTimeout(), Duration.ofSeconds(60)),
              orElse(cache.finishAbandonedDownloads(), true),
              UpstreamBudgetSettings.freshness(key, u));
      upstreams.add(
          new ProxyConfig.Upstream(
              options, mirror, isDefault, UpstreamBudgetSettings.limits(key, u)));
    }
    return List.copyOf(upstreams);
  }

  /** The password, given inline or read from passwordFile; it and the username go together. */
  private static String password(String key, ConfigFile.Upstream u) {
    String password = u.password();
    if (password != null && u.passwordFile() != null) {
      throw new ConfigException(
          key + ".passwordFile", "give either password or passwordFile, not both");
    }
    if (u.passwordFile() != null) {
      try {
        password = Files.readString(Path.of(u.passwordFile()), StandardCharsets.UTF_8).strip();
      } catch (IOException e) {
        throw new ConfigException(
            key + ".passwordFile", "cannot read " + u.passwordFile() + ": " + e.getMessage());
      }
    }
    if ((u.username() == null) != (password == null)) {
      throw new ConfigException(
          key + (u.username() == null ? ".username" : ".password"),
          "missing (username and password go together)");
    }
    return password;
  }

  /** Parses a PEM CA bundle now, so --check-config reports a bad one rather than the first pull. */
  private static @Nullable Path caFile(String key, @Nullable String ca) {
    if (ca == null) {
      return null;
    }
    Path file = Path.of(ca);
    if (!Files.isReadable(file)) {
      throw new ConfigException(key, "cannot read " + ca);
    }
    try (var in = Files.newInputStream(file)) {
      if (CertificateFactory.getInstance("X.509").generateCertificates(in).isEmpty()) {
        throw new ConfigException(
            key, file + " holds no certificate (expected PEM -----BEGIN CERTIFICATE-----)");
      }
    } catch (IOException | CertificateException e) {
      throw new ConfigException(key, file + " is not a PEM certificate file: " + e.getMessage());
    }
    return file;
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
}
