package dev.ociproxy.it.support;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;

/**
 * A minimal Docker registry token server (bearer-token flow) for distribution's {@code auth:
 * token}.
 *
 * <p>It issues RS256 JWTs signed with a self-generated RSA key; the self-signed certificate travels
 * in the JWT's {@code x5c} header and is also the registry's {@code rootcertbundle}. Users are
 * granted actions (e.g. {@code pull}) on every repository; a scope's granted actions are the
 * requested ones that the user holds. Requests without credentials get a token with no access (as
 * Docker Hub does for private repositories); wrong credentials get 401. Both the GET flow and the
 * OAuth2 POST flow (containerd uses it when it has a password) are served. Every request is
 * recorded for assertions.
 */
public final class TokenServer implements AutoCloseable {

  public static final String SERVICE = "harness-registry";
  public static final String ISSUER = "harness-token-issuer";

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String STORE_PASSWORD = "harness";

  private final HttpServer server;
  private final Path dir;
  private final Path certBundle;
  private final PrivateKey key;
  private final String x5c;
  private final Credentials admin;
  private final Map<String, Grant> users = new ConcurrentHashMap<>();
  private final List<TokenRequest> requests = new CopyOnWriteArrayList<>();
  private volatile Duration tokenLifetime = Duration.ofMinutes(5);

  /** One recorded token request; {@code user} is null for anonymous requests. */
  public record TokenRequest(
      String method, String user, List<String> scopes, String service, int status) {}

  private record Grant(String password, Set<String> actions) {}

  private TokenServer(
      HttpServer server, Path dir, Path certBundle, PrivateKey key, String x5c, Credentials admin) {
    this.server = server;
    this.dir = dir;
    this.certBundle = certBundle;
    this.key = key;
    this.x5c = x5c;
    this.admin = admin;
  }

  public static Availability availability() {
    return Files.isExecutable(keytool())
        ? Availability.ok()
        : Availability.unavailable(
            "keytool not found at " + keytool() + " (it ships with the JDK)");
  }

  /**
   * Starts a token server on a free loopback port with an {@link #admin()} user that may pull and
   * push.
   */
  public static TokenServer start() {
    Path dir = TempDirs.create("token");
    try {
      Path keystore = dir.resolve("token.p12");
      Commands.run(
              List.of(
                  keytool().toString(),
                  "-genkeypair",
                  "-alias",
                  "token",
                  "-keyalg",
                  "RSA",
                  "-keysize",
                  "2048",
                  "-sigalg",
                  "SHA256withRSA",
                  "-dname",
                  "CN=" + ISSUER,
                  "-validity",
                  "30",
                  "-storetype",
                  "PKCS12",
                  "-keystore",
                  keystore.toString(),
                  "-storepass",
                  STORE_PASSWORD,
                  "-keypass",
                  STORE_PASSWORD),
              Map.of(),
              Duration.ofMinutes(2))
          .orThrow();
      KeyStore ks = KeyStore.getInstance("PKCS12");
      try (InputStream in = Files.newInputStream(keystore)) {
        ks.load(in, STORE_PASSWORD.toCharArray());
      }
      PrivateKey key = (PrivateKey) ks.getKey("token", STORE_PASSWORD.toCharArray());
      X509Certificate cert = (X509Certificate) ks.getCertificate("token");
      byte[] der = cert.getEncoded();
      Path bundle =
          Files.writeString(
              dir.resolve("root.pem"),
              "-----BEGIN CERTIFICATE-----\n"
                  + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                      .encodeToString(der)
                  + "\n-----END CERTIFICATE-----\n");
      HttpServer http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 50);
      http.setExecutor(
          Executors.newFixedThreadPool(
              4,
              r -> {
                Thread t = new Thread(r, "token-server");
                t.setDaemon(true);
                return t;
              }));
      Credentials admin = new Credentials("admin", randomSecret());
      TokenServer ts =
          new TokenServer(http, dir, bundle, key, Base64.getEncoder().encodeToString(der), admin);
      ts.grant(admin, "pull", "push", "delete", "*");
      http.createContext("/token", ts::handle);
      http.start();
      return ts;
    } catch (IOException e) {
      TempDirs.deleteRecursively(dir);
      throw new UncheckedIOException(e);
    } catch (GeneralSecurityException e) {
      TempDirs.deleteRecursively(dir);
      throw new IllegalStateException(e);
    }
  }

  /**
   * Lets {@code user} obtain tokens with {@code actions} (e.g. "pull") on any repository; replaces
   * earlier grants.
   */
  public TokenServer grant(Credentials user, String... actions) {
    users.put(user.username(), new Grant(user.password(), Set.of(actions)));
    return this;
  }

  /** Removes {@code username}: its next token request is answered 401. */
  public TokenServer revoke(String username) {
    users.remove(username);
    return this;
  }

  /** Sets the {@code exp} of tokens issued from now on (default 5 minutes). */
  public TokenServer tokenLifetime(Duration lifetime) {
    this.tokenLifetime = requireNonNull(lifetime, "lifetime");
    return this;
  }

  /** A user that may pull, push and delete everywhere: use it to push test images. */
  public Credentials admin() {
    return admin;
  }

  public String realm() {
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/token";
  }

  public String service() {
    return SERVICE;
  }

  public String issuer() {
    return ISSUER;
  }

  /** The PEM certificate the registry must trust ({@code auth.token.rootcertbundle}). */
  public Path rootCertBundle() {
    return certBundle;
  }

  /** Every token request served so far, oldest first. */
  public List<TokenRequest> requests() {
    return List.copyOf(requests);
  }

  public void clearRequests() {
    requests.clear();
  }

  @Override
  public void close() {
    server.stop(0);
    ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
    TempDirs.deleteRecursively(dir);
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      String method = exchange.getRequestMethod();
      Map<String, List<String>> params = new java.util.HashMap<>();
      parseForm(exchange.getRequestURI().getRawQuery(), params);
      Credentials presented =
          basicCredentials(exchange.getRequestHeaders().getFirst("Authorization"));
      if ("POST".equals(method)) {
        parseForm(
            new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8), params);
        if (params.containsKey("username")) {
          presented = new Credentials(first(params, "username"), first(params, "password"));
        }
      }
      List<String> scopes = new ArrayList<>();
      for (String s : params.getOrDefault("scope", List.of())) {
        scopes.addAll(List.of(s.split(" "))); // OAuth2 form joins scopes with spaces
      }
      String service = first(params, "service");
      Set<String> allowed = Set.of();
      if (presented != null) {
        Grant grant = users.get(presented.username());
        if (grant == null || !grant.password().equals(presented.password())) {
          requests.add(new TokenRequest(method, presented.username(), scopes, service, 401));
          respond(
              exchange,
              401,
              "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"bad credentials\"}]}");
          return;
        }
        allowed = grant.actions();
      }
      String token = sign(presented == null ? "" : presented.username(), scopes, allowed);
      long seconds = tokenLifetime.toSeconds();
      ObjectNode body =
          JSON.createObjectNode()
              .put("token", token)
              .put("access_token", token)
              .put("expires_in", seconds)
              .put("issued_at", Instant.now().toString());
      requests.add(
          new TokenRequest(
              method, presented == null ? null : presented.username(), scopes, service, 200));
      respond(exchange, 200, JSON.writeValueAsString(body));
    } catch (RuntimeException | GeneralSecurityException e) {
      respond(exchange, 500, "{\"error\":\"" + e.getClass().getSimpleName() + "\"}");
    }
  }

  private String sign(String subject, List<String> scopes, Set<String> allowed)
      throws GeneralSecurityException {
    ArrayNode access = JSON.createArrayNode();
    for (String scope : scopes) {
      int first = scope.indexOf(':');
      int last = scope.lastIndexOf(':');
      if (first < 0 || last == first) {
        continue;
      }
      Set<String> granted = new LinkedHashSet<>();
      for (String action : scope.substring(last + 1).split(",")) {
        if (allowed.contains(action) || allowed.contains("*") && !action.isEmpty()) {
          granted.add(action);
        }
      }
      ObjectNode entry =
          access
              .addObject()
              .put("type", scope.substring(0, first))
              .put("name", scope.substring(first + 1, last));
      granted.forEach(entry.putArray("actions")::add);
    }
    long now = Instant.now().getEpochSecond();
    ObjectNode header = JSON.createObjectNode().put("typ", "JWT").put("alg", "RS256");
    header.putArray("x5c").add(x5c);
    ObjectNode claims =
        JSON.createObjectNode()
            .put("iss", ISSUER)
            .put("sub", subject)
            .put("aud", SERVICE)
            .put("exp", now + tokenLifetime.toSeconds())
            .put("nbf", now - 10)
            .put("iat", now)
            .put("jti", randomSecret());
    claims.set("access", access);
    Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
    String signingInput =
        b64.encodeToString(bytes(header)) + "." + b64.encodeToString(bytes(claims));
    Signature rs256 = Signature.getInstance("SHA256withRSA");
    rs256.initSign(key);
    rs256.update(signingInput.getBytes(StandardCharsets.US_ASCII));
    return signingInput + "." + b64.encodeToString(rs256.sign());
  }

  private static byte[] bytes(ObjectNode node) {
    try {
      return JSON.writeValueAsBytes(node);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Credentials basicCredentials(String authorization) {
    if (authorization == null || !authorization.regionMatches(true, 0, "Basic ", 0, 6)) {
      return null;
    }
    String decoded =
        new String(
            Base64.getDecoder().decode(authorization.substring(6).trim()), StandardCharsets.UTF_8);
    int colon = decoded.indexOf(':');
    return colon <= 0
        ? null
        : new Credentials(decoded.substring(0, colon), decoded.substring(colon + 1));
  }

  private static void parseForm(String raw, Map<String, List<String>> into) {
    if (raw == null || raw.isEmpty()) {
      return;
    }
    for (String pair : raw.split("&")) {
      int eq = pair.indexOf('=');
      String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
      String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
      into.computeIfAbsent(k, x -> new ArrayList<>()).add(v);
    }
  }

  private static String first(Map<String, List<String>> params, String key) {
    List<String> v = params.get(key);
    return v == null || v.isEmpty() ? "" : v.get(0);
  }

  private static void respond(HttpExchange exchange, int status, String json) throws IOException {
    byte[] body = json.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, body.length);
    exchange.getResponseBody().write(body);
  }

  private static Path keytool() {
    return Path.of(System.getProperty("java.home"), "bin", "keytool");
  }

  private static String randomSecret() {
    byte[] b = new byte[12];
    new SecureRandom().nextBytes(b);
    return HexFormat.of().formatHex(b);
  }
}
