package dev.ociproxy.server.auth;

import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Who may pull from one upstream's repositories under a prefix.
 *
 * @param upstream upstream name, or {@code *} for all
 * @param prefix repository prefix ({@code ""} matches every repository); {@code team/} matches
 *     {@code team/app} but {@code team} alone matches only {@code team} and {@code team/…}
 * @param anonymous whether clients without credentials may pull
 * @param users users who may pull; with {@code groups}, empty both means any authenticated user
 */
public record AccessRule(
    String upstream, String prefix, boolean anonymous, Set<String> users, Set<String> groups) {
  public AccessRule {
    users = Set.copyOf(users);
    groups = Set.copyOf(groups);
  }

  boolean matches(String upstreamName, String repository) {
    if (!upstream.equals("*") && !upstream.equals(upstreamName)) {
      return false;
    }
    if (prefix.isEmpty()) {
      return true;
    }
    if (prefix.endsWith("/")) {
      return repository.startsWith(prefix);
    }
    return repository.equals(prefix) || repository.startsWith(prefix + "/");
  }

  /**
   * Higher is more specific: an exact upstream beats {@code *}, a longer prefix beats a shorter.
   */
  int specificity() {
    return (upstream.equals("*") ? 0 : 100_000) + prefix.length();
  }

  boolean admits(@Nullable Principal p) {
    if (anonymous) {
      return true;
    }
    if (p == null) {
      return false;
    }
    if (users.isEmpty() && groups.isEmpty()) {
      return true;
    }
    return users.contains(p.user()) || p.groups().stream().anyMatch(groups::contains);
  }
}
