package dev.ociproxy.core.upstream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.RegistryException;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The registry token flow for one upstream, as Jib's {@code RegistryAuthenticator}: answers a
 * bearer challenge by asking its realm for a token (sent with the upstream's basic credentials only
 * where they may go), keeps tokens per scope until shortly before they expire, and says what {@code
 * Authorization} a request to the upstream's own origin carries. {@link UpstreamClient} decides
 * when to ask; this class decides where tokens come from. Thread-safe.
 */
final class RegistryAuthenticator {
  private static final Logger log = LoggerFactory.getLogger(RegistryAuthenticator.class);
  private static final int MAX_TOKEN_BODY = 64 * 1024;
  private static final ObjectMapper JSON = new ObjectMapper();

  private final UpstreamOptions options;
  private final HttpTransport transport;
  private final Function<URI, Endpoint> endpoints;
  private final Cache<String, Token> tokens;

  /** Set once the upstream asked for basic auth; from then on every request carries it. */
  private volatile boolean basicWanted;

  /**
   * @param endpoints how to reach a URI (the client's TLS, timeouts and address guard)
   */
  RegistryAuthenticator(
      UpstreamOptions options, HttpTransport transport, Function<URI, Endpoint> endpoints) {
    this.options = options;
    this.transport = transport;
    this.endpoints = endpoints;
    this.tokens =
        Caffeine.newBuilder()
            .maximumSize(10_000)
            .expireAfter(
                new Expiry<String, Token>() {
                  @Override
                  public long expireAfterCreate(String k, Token t, long now) {
                    return t.ttl().toNanos();
                  }

                  @Override
                  public long expireAfterUpdate(String k, Token t, long now, long d) {
                    return t.ttl().toNanos();
                  }

                  @Override
                  public long expireAfterRead(String k, Token t, long now, long d) {
                    return d;
                  }
                })
            .build();
  }

  /**
   * What a request to the upstream's own origin for {@code scope} carries: a token we hold for the
   * scope, else basic credentials once the upstream asked for them, else nothing.
   */
  @Nullable String authorization(@Nullable String scope) {
    if (scope != null) {
      Token t = tokens.getIfPresent(scope);
      if (t != null) {
        return "Bearer " + t.value();
      }
    }
    if (basicWanted && options.hasCredentials()) {
      return basic();
    }
    return null;
  }

  /**
   * True when a 401 with this challenge is worth one more try: a bearer challenge with a realm, or
   * a basic one we have credentials for.
   */
  boolean canAnswer(@Nullable AuthChallenge challenge) {
    return challenge != null
        && ((challenge.isBearer() && challenge.param("realm") != null)
            || (challenge.isBasic() && options.hasCredentials()));
  }

  /**
   * Answers a challenge {@link #canAnswer} accepted: fetches a token for {@code scope} from a
   * bearer realm, or sends basic credentials from now on. Completes when the retry may go.
   */
  CompletableFuture<Void> answer(AuthChallenge challenge, @Nullable String scope) {
    String realm = challenge.param("realm");
    if (challenge.isBearer() && realm != null) {
      return fetchToken(challenge, realm, scope).thenApply(t -> null);
    }
    basicWanted = true;
    return CompletableFuture.completedFuture(null);
  }

  private String basic() {
    String raw = options.username() + ":" + options.password();
    return "Basic " + Base64.getEncoder().encodeToString(raw.getBytes(StandardCharsets.UTF_8));
  }

  private CompletableFuture<Token> fetchToken(
      AuthChallenge challenge, String realmParam, @Nullable String scope) {
    URI realm;
    try {
      realm = URI.create(realmParam);
    } catch (IllegalArgumentException e) {
      throw new RegistryException(
          OciErrorCode.UNAVAILABLE, 502, "upstream sent an invalid token realm");
    }
    String rs = realm.getScheme() == null ? "" : realm.getScheme().toLowerCase(Locale.ROOT);
    String realmHost = realm.getHost();
    if ((!rs.equals("https") && !rs.equals("http")) || realmHost == null) {
      throw new RegistryException(
          OciErrorCode.UNAVAILABLE, 502, "refused token realm scheme: " + rs);
    }
    if (!trustedRealm(realm)) {
      log.warn(
          "refused token realm {}://{}:{} of upstream {}: not the upstream's origin; list the host in"
              + " trustedRealmHosts to use it",
          rs,
          realmHost,
          UpstreamClient.port(realm),
          options.name());
      throw new RegistryException(
          OciErrorCode.UNAVAILABLE,
          502,
          "refused token realm "
              + realmHost
              + ": not the upstream's origin (upstreams["
              + options.name()
              + "].trustedRealmHosts lists the others)");
    }
    StringBuilder q = new StringBuilder(realm.toString());
    char sep = realm.getRawQuery() == null ? '?' : '&';
    String service = challenge.param("service");
    if (service != null) {
      q.append(sep).append("service=").append(enc(service));
      sep = '&';
    }
    String challenged = challenge.param("scope");
    String wanted = challenged != null ? challenged : scope;
    if (wanted != null) {
      q.append(sep).append("scope=").append(enc(wanted));
    }
    URI tokenUri = URI.create(q.toString());
    HttpHeaders headers = new DefaultHttpHeaders();
    headers.set(HttpHeaderNames.USER_AGENT, UpstreamClient.USER_AGENT);
    headers.set(HttpHeaderNames.ACCEPT, "application/json");
    if (options.hasCredentials() && mayReceiveCredentials(tokenUri)) {
      headers.set(HttpHeaderNames.AUTHORIZATION, basic());
    }
    return transport
        .send(endpoints.apply(tokenUri), HttpMethod.GET, tokenUri, headers)
        .thenCompose(
            resp -> {
              if (resp.status() != 200) {
                resp.drain();
                throw new RegistryException(
                    resp.status() == 401 || resp.status() == 403
                        ? OciErrorCode.UNAUTHORIZED
                        : OciErrorCode.UNAVAILABLE,
                    resp.status() == 401 || resp.status() == 403 ? 401 : 502,
                    "token service " + tokenUri.getHost() + " answered " + resp.status());
              }
              return resp.aggregate(MAX_TOKEN_BODY);
            })
        .thenApply(
            body -> {
              Token t = parseToken(body);
              if (scope != null) {
                tokens.put(scope, t);
              }
              return t;
            });
  }

  /**
   * A token realm must be the upstream's own origin (scheme, host and port), a host the operator
   * listed in {@code trustedRealmHosts} (any port), or {@code auth.docker.io} for Docker Hub: a
   * realm elsewhere, even on the upstream's host at another port, is refused (distribution's
   * CVE-2026-33540 was a realm left unbound).
   */
  boolean trustedRealm(URI realm) {
    String host = realm.getHost();
    if (host == null) {
      return false;
    }
    host = host.toLowerCase(Locale.ROOT);
    return UpstreamClient.sameOrigin(realm, options.url())
        || options.trustedRealmHosts().contains(host)
        || (options.isDockerHub() && host.equals("auth.docker.io"));
  }

  /**
   * The upstream's basic credentials go only to a {@linkplain #trustedRealm trusted realm}, and
   * never over plain http unless the upstream itself is plain http.
   */
  boolean mayReceiveCredentials(URI realm) {
    boolean trustedHost = trustedRealm(realm);
    boolean secureEnough =
        "https".equalsIgnoreCase(realm.getScheme())
            || "http".equalsIgnoreCase(options.url().getScheme());
    if (trustedHost && !secureEnough) {
      log.warn(
          "not sending upstream credentials to token realm {} over plain http",
          String.valueOf(realm.getHost()).toLowerCase(Locale.ROOT));
    }
    return trustedHost && secureEnough;
  }

  private static Token parseToken(byte[] body) {
    try {
      JsonNode n = JSON.readTree(body);
      String value = n.path("token").asText(null);
      if (value == null || value.isEmpty()) {
        value = n.path("access_token").asText(null);
      }
      if (value == null || value.isEmpty()) {
        throw new RegistryException(OciErrorCode.UNAVAILABLE, 502, "token service sent no token");
      }
      long expires = n.path("expires_in").asLong(60);
      // Refresh a little early so a token never expires between our check and the upstream's.
      long ttl = Math.max(1, Math.min(expires, 3600) - 10);
      return new Token(value, Duration.ofSeconds(ttl));
    } catch (IOException e) {
      throw new RegistryException(OciErrorCode.UNAVAILABLE, 502, "token service sent invalid JSON");
    }
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  private record Token(String value, Duration ttl) {}
}
