package dev.ociproxy.server.config;

import static dev.ociproxy.server.config.ConfigLoader.orElse;

import dev.ociproxy.server.auth.AccessRule;
import dev.ociproxy.server.auth.CredentialStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/** Who may pull what: the {@code auth} credentials and the {@code access} rules over them. */
final class AccessSettings {
  private AccessSettings() {}

  static ProxyConfig.Auth auth(ConfigFile.@Nullable Auth a) {
    if (a == null) {
      return ProxyConfig.Auth.disabled();
    }
    Path htpasswd = readableFile("auth.htpasswd", a.htpasswd());
    Path tokens = readableFile("auth.tokens", a.tokens());
    if (htpasswd == null && tokens == null) {
      throw new ConfigException(
          "auth.htpasswd", "missing (auth needs an htpasswd file, a tokens file, or both)");
    }
    Map<String, Set<String>> groups = new HashMap<>();
    orElse(a.groups(), Map.<String, List<String>>of())
        .forEach(
            (group, users) ->
                orElse(users, List.<String>of())
                    .forEach(
                        user -> groups.computeIfAbsent(user, x -> new HashSet<>()).add(group)));
    try {
      CredentialStore.load(htpasswd, tokens, groups);
    } catch (IllegalArgumentException e) {
      String problem = String.valueOf(e.getMessage());
      boolean inHtpasswd = htpasswd != null && problem.startsWith(htpasswd.toString());
      throw new ConfigException(inHtpasswd ? "auth.htpasswd" : "auth.tokens", problem);
    }
    return new ProxyConfig.Auth(
        true, orElse(a.realm(), "registry-proxy"), htpasswd, tokens, groups);
  }

  static List<AccessRule> access(
      @Nullable List<ConfigFile.Access> list,
      List<ProxyConfig.Upstream> upstreams,
      ProxyConfig.Auth auth) {
    List<AccessRule> rules = new ArrayList<>();
    List<ConfigFile.Access> given = orElse(list, List.of());
    for (int i = 0; i < given.size(); i++) {
      String key = "access[" + i + "]";
      ConfigFile.Access r = given.get(i);
      if (r == null) {
        throw new ConfigException(key, "expected a mapping of keys");
      }
      String upstream = orElse(r.upstream(), "*");
      if (!upstream.equals("*") && upstreams.stream().noneMatch(u -> u.name().equals(upstream))) {
        throw new ConfigException(
            key + ".upstream", "'" + upstream + "' is not a configured upstream");
      }
      String prefix = orElse(r.repositories(), "");
      boolean anonymous = orElse(r.anonymous(), false);
      if (!anonymous && !auth.enabled()) {
        throw new ConfigException(
            key + ".anonymous",
            "false, but no auth is configured, so no client could ever pull (add auth.htpasswd or auth.tokens)");
      }
      rules.add(
          new AccessRule(
              upstream,
              prefix.equals("*") ? "" : prefix,
              anonymous,
              Set.copyOf(orElse(r.users(), List.of())),
              Set.copyOf(orElse(r.groups(), List.of()))));
    }
    return List.copyOf(rules);
  }

  private static @Nullable Path readableFile(String key, @Nullable String value) {
    if (value == null) {
      return null;
    }
    Path p = Path.of(value);
    if (!Files.isReadable(p)) {
      throw new ConfigException(key, "cannot read " + value);
    }
    return p;
  }
}
