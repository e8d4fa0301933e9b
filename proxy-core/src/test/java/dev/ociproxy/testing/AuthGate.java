package dev.ociproxy.testing;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The registry's authentication: none, HTTP Basic on every request, or Docker token auth (Bearer
 * challenge plus a {@code /token} endpoint) with tokens bound to the repositories they were issued
 * for.
 */
final class AuthGate {
  static final String SERVICE = "hostile";

  private enum Mode {
    NONE,
    BASIC,
    BEARER
  }

  /** What a token allows: pull on these repositories, until {@code expiresAt}. */
  private record Grant(Set<String> repositories, Instant expiresAt) {}

  private final SecureRandom random = new SecureRandom();
  private final Map<String, Grant> tokens = new ConcurrentHashMap<>();
  private volatile Mode mode = Mode.NONE;
  private volatile String basicHeader; // expected "Basic …" value, or null for anonymous tokens
  private volatile Duration ttl = Duration.ofSeconds(60);

  void anonymous() {
    mode = Mode.NONE;
    basicHeader = null;
  }

  void basic(String user, String password) {
    basicHeader = basicHeader(user, password);
    mode = Mode.BASIC;
  }

  /** Token auth; {@code user} null means the token endpoint hands out tokens anonymously. */
  void bearer(String user, String password) {
    basicHeader = user == null ? null : basicHeader(user, password);
    mode = Mode.BEARER;
  }

  void tokenTtl(Duration d) {
    ttl = d;
  }

  void expireAll() {
    tokens.clear();
  }

  /**
   * Returns the 401 to send, or null when the request may proceed. {@code repo} is the repository
   * the path names, or null for {@code /v2/} and unroutable paths (which need any valid token).
   */
  Reply check(RecordedRequest req, String repo, String baseUrl) {
    switch (mode) {
      case NONE:
        return null;
      case BASIC:
        if (matches(req.header("Authorization").orElse(""), basicHeader)) {
          return null;
        }
        return Reply.error(401, "UNAUTHORIZED", "authentication required", "")
            .header("WWW-Authenticate", "Basic realm=\"" + SERVICE + "\"");
      default:
        String presented = req.header("Authorization").orElse("");
        String error = null;
        if (presented.regionMatches(true, 0, "Bearer ", 0, 7)) {
          Grant g = tokens.get(presented.substring(7).trim());
          if (g == null || Instant.now().isAfter(g.expiresAt())) {
            error = "invalid_token";
          } else if (repo == null || g.repositories().contains(repo)) {
            return null;
          } else {
            error = "insufficient_scope";
          }
        }
        String challenge =
            "Bearer realm=\""
                + baseUrl
                + "/token\",service=\""
                + SERVICE
                + "\""
                + (repo == null ? "" : ",scope=\"repository:" + repo + ":pull\"")
                + (error == null ? "" : ",error=\"" + error + "\"");
        return Reply.error(401, "UNAUTHORIZED", "authentication required", "")
            .header("WWW-Authenticate", challenge);
    }
  }

  /** Answers {@code GET /token?service=…&scope=…}. */
  Reply token(RecordedRequest req) {
    if (mode != Mode.BEARER) {
      return Reply.error(404, "UNSUPPORTED", "token auth is not enabled", req.path());
    }
    if (basicHeader != null && !matches(req.header("Authorization").orElse(""), basicHeader)) {
      return Reply.error(401, "UNAUTHORIZED", "token endpoint needs credentials", "")
          .header("WWW-Authenticate", "Basic realm=\"" + SERVICE + "-token\"");
    }
    String service = req.queryParam("service").orElse("");
    if (!service.equals(SERVICE)) {
      return Reply.error(
          400, "UNSUPPORTED", "service: " + service + " (expected: " + SERVICE + ")", "");
    }
    var repos = new HashSet<String>();
    for (String param : req.queryParams("scope")) {
      for (String scope : param.split(" ")) {
        // repository:<name>:<actions>; the name may itself hold ':' (host:port/repo).
        int last = scope.lastIndexOf(':');
        if (scope.startsWith("repository:") && last > "repository:".length()) {
          String actions = scope.substring(last + 1);
          if (actions.contains("pull") || actions.equals("*")) {
            repos.add(scope.substring("repository:".length(), last));
          }
        }
      }
    }
    byte[] raw = new byte[18];
    random.nextBytes(raw);
    String token = "hostile." + Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
    Instant now = Instant.now();
    tokens.put(token, new Grant(Set.copyOf(repos), now.plus(ttl)));
    var body = new LinkedHashMap<String, Object>();
    body.put("token", token);
    body.put("expires_in", Math.max(1, ttl.toSeconds()));
    body.put("issued_at", now.toString());
    return Reply.json(200, OciJson.write(body));
  }

  private static boolean matches(String presented, String expected) {
    return expected != null
        && presented.length() == expected.length()
        && presented.regionMatches(true, 0, expected, 0, 6) // scheme is case-insensitive
        && presented.substring(6).equals(expected.substring(6));
  }

  static String basicHeader(String user, String password) {
    String pair = user + ":" + password;
    return "Basic " + Base64.getEncoder().encodeToString(pair.getBytes(StandardCharsets.UTF_8));
  }
}
