package dev.ociproxy.server.auth;

import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.RegistryException;
import java.util.Comparator;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Decides whether a client may pull a repository of an upstream, before anything is fetched or read
 * from the cache. The most specific matching rule decides; with no matching rule, anyone
 * authenticated may pull when authentication is on, and everyone when it is off.
 */
public final class AccessPolicy {
  private final boolean authEnabled;
  private final List<AccessRule> rules;

  public AccessPolicy(boolean authEnabled, List<AccessRule> rules) {
    this.authEnabled = authEnabled;
    this.rules =
        rules.stream().sorted(Comparator.comparingInt(AccessRule::specificity).reversed()).toList();
  }

  public static AccessPolicy open() {
    return new AccessPolicy(false, List.of());
  }

  public boolean authEnabled() {
    return authEnabled;
  }

  /**
   * Throws when {@code principal} (null for anonymous) may not pull: {@code UNAUTHORIZED} 401 when
   * credentials would help, {@code DENIED} 403 when they would not.
   */
  public void check(@Nullable Principal principal, String upstream, String repository) {
    for (AccessRule r : rules) {
      if (r.matches(upstream, repository)) {
        if (r.admits(principal)) {
          return;
        }
        throw refusal(principal, upstream, repository);
      }
    }
    if (authEnabled && principal == null) {
      throw refusal(null, upstream, repository);
    }
  }

  private static RegistryException refusal(
      @Nullable Principal p, String upstream, String repository) {
    if (p == null) {
      return new RegistryException(OciErrorCode.UNAUTHORIZED, 401, "authentication required");
    }
    return new RegistryException(
        OciErrorCode.DENIED,
        403,
        "user " + p.user() + " may not pull " + upstream + "/" + repository);
  }
}
