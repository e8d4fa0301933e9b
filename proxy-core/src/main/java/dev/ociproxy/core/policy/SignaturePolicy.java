package dev.ociproxy.core.policy;

import static java.util.Objects.requireNonNull;

import dev.ociproxy.core.oci.RepositoryName;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Which requirements apply where: scopes {@code <upstream>}, {@code <upstream>/<namespace>} or
 * {@code <upstream>/<repository>} (containers-policy.json's {@code docker} transport scopes with
 * the upstream's name as host), the docker transport's own default ({@code ""}), and the policy's
 * {@code default}. The most specific scope naming a repository wins, as in containers-policy.json.
 *
 * @param scopes by scope; a scope is a host, optionally followed by {@code /}-separated components
 */
public record SignaturePolicy(Rule defaultRule, Map<String, Rule> scopes) {
  /** The scope of the docker transport's own default. */
  public static final String TRANSPORT_DEFAULT = "";

  public SignaturePolicy {
    requireNonNull(defaultRule, "defaultRule");
    scopes = Map.copyOf(scopes);
  }

  /**
   * The rule for {@code repo} of {@code upstream}: the scope naming the repository itself, else the
   * longest namespace above it, else the upstream, else the transport default, else {@code
   * default}.
   */
  public Rule rule(String upstream, RepositoryName repo) {
    String name = upstream + "/" + repo.value();
    for (String s = name; ; ) {
      Rule r = scopes.get(s);
      if (r != null) {
        return r;
      }
      int slash = s.lastIndexOf('/');
      if (slash < 0) {
        break;
      }
      s = s.substring(0, slash);
    }
    Rule wildcard = wildcard(upstream);
    if (wildcard != null) {
      return wildcard;
    }
    return scopes.getOrDefault(TRANSPORT_DEFAULT, defaultRule);
  }

  /**
   * A {@code *.example.com} scope covering {@code upstream}'s host, the most specific first (as
   * containers-policy.json: {@code *.a.example.com} before {@code *.example.com}).
   */
  private @Nullable Rule wildcard(String upstream) {
    String host = upstream.contains(":") ? upstream.substring(0, upstream.indexOf(':')) : upstream;
    for (int dot = host.indexOf('.'); dot >= 0; dot = host.indexOf('.', dot + 1)) {
      Rule r = scopes.get("*" + host.substring(dot));
      if (r != null) {
        return r;
      }
    }
    return null;
  }

  /** True when every repository of {@code upstream} may be served unchecked (nothing to wrap). */
  public boolean leavesOpen(String upstream) {
    String host = upstream.contains(":") ? upstream.substring(0, upstream.indexOf(':')) : upstream;
    boolean scoped =
        scopes.entrySet().stream()
            .anyMatch(
                e ->
                    !e.getValue().acceptsAnything()
                        && (e.getKey().equals(upstream)
                            || e.getKey().startsWith(upstream + "/")
                            || e.getKey().startsWith("*.")
                                && host.endsWith(e.getKey().substring(1))));
    Rule fallback = scopes.getOrDefault(TRANSPORT_DEFAULT, defaultRule);
    return !scoped && fallback.acceptsAnything();
  }
}
