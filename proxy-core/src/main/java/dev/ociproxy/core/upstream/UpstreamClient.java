package dev.ociproxy.core.upstream;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.RegistryException;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Talks to one upstream registry: adds credentials, does the registry token flow, and follows
 * redirects without ever sending the upstream's {@code Authorization} to another origin.
 * Thread-safe.
 */
public final class UpstreamClient {
  private static final Logger log = LoggerFactory.getLogger(UpstreamClient.class);

  /** Redirect hops followed before giving up (blob storage normally needs one). */
  static final int MAX_REDIRECTS = 5;

  private static final int MAX_SMALL_BODY = 64 * 1024;
  private static final String USER_AGENT = "registry-proxy/0.1";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final UpstreamOptions options;
  private final HttpTransport transport;
  private final SslContext ssl;
  private final Cache<String, Token> tokens;
  private final UpstreamHealth health;
  private final UpstreamMetrics metrics;
  private final UpstreamThrottle throttle;
  private final AddressGuard guard;
  private volatile boolean basicWanted;

  /** A client whose meters go nowhere (tests, tools). */
  public UpstreamClient(UpstreamOptions options, HttpTransport transport) {
    this(options, transport, new CompositeMeterRegistry());
  }

  public UpstreamClient(UpstreamOptions options, HttpTransport transport, MeterRegistry meters) {
    this(options, transport, meters, RequestLimits.unlimited());
  }

  public UpstreamClient(
      UpstreamOptions options,
      HttpTransport transport,
      MeterRegistry meters,
      RequestLimits limits) {
    this(options, transport, meters, limits, new AddressGuard());
  }

  UpstreamClient(
      UpstreamOptions options,
      HttpTransport transport,
      MeterRegistry meters,
      RequestLimits limits,
      AddressGuard guard) {
    this.guard = requireNonNull(guard, "guard");
    this.options = requireNonNull(options, "options");
    this.throttle = new UpstreamThrottle(options.name(), requireNonNull(limits, "limits"), meters);
    this.metrics = new UpstreamMetrics(options.name(), requireNonNull(meters, "meters"));
    this.transport = requireNonNull(transport, "transport");
    this.ssl = sslContext(options);
    this.health = new UpstreamHealth(options.name(), new RateLimitBudget(options.name(), meters));
    metrics.backoffGauge(health, UpstreamHealth::backoffSeconds);
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

  /** The upstream's health now: back-off and last error (for the status page). */
  public UpstreamStatus status() {
    return health.status();
  }

  public UpstreamOptions options() {
    return options;
  }

  /**
   * Sends {@code method} to {@code path} (which starts with {@code /v2/}) on the upstream. The
   * future yields the final response after auth and redirects, whatever its status.
   */
  public CompletableFuture<UpstreamResponse> request(
      HttpMethod method, String path, String repository, List<String> accept) {
    URI uri = URI.create(base() + path);
    String scope = repository == null ? null : "repository:" + repository + ":pull";
    return throttle.run(
        () -> {
          // Checked at our turn: the budget may have run out while we waited in line.
          RegistryException backingOff = health.blocked();
          if (backingOff != null) {
            metrics.backingOff();
            return CompletableFuture.failedFuture(backingOff);
          }
          long started = System.nanoTime();
          return attempt(method, uri, scope, accept, false, 0)
              .whenComplete(health::record)
              .whenComplete((resp, err) -> metrics.finished(method, started, resp, err));
        });
  }

  private String base() {
    String s = options.url().toString();
    return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
  }

  private CompletableFuture<UpstreamResponse> attempt(
      HttpMethod method,
      URI uri,
      @Nullable String scope,
      List<String> accept,
      boolean authTried,
      int hops) {
    HttpHeaders headers = new DefaultHttpHeaders();
    headers.set(HttpHeaderNames.USER_AGENT, USER_AGENT);
    if (accept != null && !accept.isEmpty()) {
      headers.set(HttpHeaderNames.ACCEPT, String.join(", ", accept));
    }
    boolean upstreamOrigin = sameOrigin(uri, options.url());
    if (upstreamOrigin) {
      String auth = authorization(scope);
      if (auth != null) {
        headers.set(HttpHeaderNames.AUTHORIZATION, auth);
      }
    }
    return transport
        .send(endpoint(uri), method, uri, headers)
        .thenCompose(
            resp -> {
              resp.uri(uri);
              int status = resp.status();
              if (status == 401 && upstreamOrigin && !authTried) {
                AuthChallenge challenge =
                    AuthChallenge.parse(resp.headers().get(HttpHeaderNames.WWW_AUTHENTICATE));
                if (challenge != null && challenge.isBearer() && challenge.param("realm") != null) {
                  resp.drain();
                  return fetchToken(challenge, scope)
                      .thenCompose(t -> attempt(method, uri, scope, accept, true, hops));
                }
                if (challenge != null && challenge.isBasic() && options.hasCredentials()) {
                  resp.drain();
                  basicWanted = true;
                  return attempt(method, uri, scope, accept, true, hops);
                }
                return CompletableFuture.completedFuture(resp);
              }
              String location = resp.headers().get(HttpHeaderNames.LOCATION);
              if (isRedirect(status) && location != null) {
                resp.drain();
                if (hops >= MAX_REDIRECTS) {
                  throw new RegistryException(
                      OciErrorCode.UNAVAILABLE, 502, "upstream redirected too many times");
                }
                URI next = resolve(uri, location);
                return attempt(method, next, scope, accept, authTried, hops + 1);
              }
              return CompletableFuture.completedFuture(resp);
            });
  }

  private static URI resolve(URI from, String location) {
    URI next;
    try {
      next = from.resolve(location.trim());
    } catch (IllegalArgumentException e) {
      throw new RegistryException(
          OciErrorCode.UNAVAILABLE, 502, "upstream sent an invalid redirect location");
    }
    String scheme = next.getScheme() == null ? "" : next.getScheme().toLowerCase(Locale.ROOT);
    if ((!scheme.equals("http") && !scheme.equals("https")) || next.getHost() == null) {
      throw new RegistryException(
          OciErrorCode.UNAVAILABLE, 502, "upstream redirected to a refused location: " + scheme);
    }
    return next;
  }

  private static boolean isRedirect(int status) {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
  }

  /**
   * Same scheme, host and port: the only place the upstream's credentials may go, and the only
   * place a referrers page may lead.
   */
  public static boolean sameOrigin(URI a, URI b) {
    return a.getScheme() != null
        && a.getScheme().equalsIgnoreCase(b.getScheme())
        && a.getHost() != null
        && a.getHost().equalsIgnoreCase(b.getHost())
        && port(a) == port(b);
  }

  private static int port(URI u) {
    return u.getPort() != -1 ? u.getPort() : "https".equalsIgnoreCase(u.getScheme()) ? 443 : 80;
  }

  private @Nullable String authorization(@Nullable String scope) {
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

  private String basic() {
    String raw = options.username() + ":" + options.password();
    return "Basic " + Base64.getEncoder().encodeToString(raw.getBytes(StandardCharsets.UTF_8));
  }

  private CompletableFuture<Token> fetchToken(AuthChallenge challenge, @Nullable String scope) {
    URI realm;
    try {
      realm = URI.create(challenge.param("realm"));
    } catch (IllegalArgumentException e) {
      throw new RegistryException(
          OciErrorCode.UNAVAILABLE, 502, "upstream sent an invalid token realm");
    }
    String rs = realm.getScheme() == null ? "" : realm.getScheme().toLowerCase(Locale.ROOT);
    if ((!rs.equals("https") && !rs.equals("http")) || realm.getHost() == null) {
      throw new RegistryException(
          OciErrorCode.UNAVAILABLE, 502, "refused token realm scheme: " + rs);
    }
    if (!trustedRealm(realm)) {
      log.warn(
          "refused token realm {}://{}:{} of upstream {}: not the upstream's origin; list the host in"
              + " trustedRealmHosts to use it",
          rs,
          realm.getHost(),
          port(realm),
          options.name());
      throw new RegistryException(
          OciErrorCode.UNAVAILABLE,
          502,
          "refused token realm "
              + realm.getHost()
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
    String wanted = challenge.param("scope") != null ? challenge.param("scope") : scope;
    if (wanted != null) {
      q.append(sep).append("scope=").append(enc(wanted));
    }
    URI tokenUri = URI.create(q.toString());
    HttpHeaders headers = new DefaultHttpHeaders();
    headers.set(HttpHeaderNames.USER_AGENT, USER_AGENT);
    headers.set(HttpHeaderNames.ACCEPT, "application/json");
    if (options.hasCredentials() && mayReceiveCredentials(tokenUri)) {
      headers.set(HttpHeaderNames.AUTHORIZATION, basic());
    }
    return transport
        .send(endpoint(tokenUri), HttpMethod.GET, tokenUri, headers)
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
              return resp.aggregate(MAX_SMALL_BODY);
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
    String host = realm.getHost().toLowerCase(Locale.ROOT);
    return sameOrigin(realm, options.url())
        || options.trustedRealmHosts().contains(host)
        || (options.isDockerHub() && host.equals("auth.docker.io"));
  }

  /**
   * The upstream's basic credentials go only to a {@linkplain #trustedRealm trusted realm}, and
   * never over plain http unless the upstream itself is plain http.
   */
  boolean mayReceiveCredentials(URI realm) {
    boolean trustedHost = trustedRealm(realm);
    String host = realm.getHost().toLowerCase(Locale.ROOT);
    boolean secureEnough =
        "https".equalsIgnoreCase(realm.getScheme())
            || "http".equalsIgnoreCase(options.url().getScheme());
    if (trustedHost && !secureEnough) {
      log.warn("not sending upstream credentials to token realm {} over plain http", host);
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

  private Endpoint endpoint(URI uri) {
    Endpoint.Reach reach =
        sameOrigin(uri, options.url())
            ? Endpoint.Reach.UPSTREAM
            : trustedRealm(uri) ? Endpoint.Reach.TRUSTED : Endpoint.Reach.ELSEWHERE;
    return Endpoint.of(
        uri,
        ssl,
        options.connectTimeout(),
        options.readTimeout(),
        options.firstByteTimeout(),
        metrics,
        reach,
        guard);
  }

  private static SslContext sslContext(UpstreamOptions options) {
    try {
      SslContextBuilder b = SslContextBuilder.forClient();
      if (options.caFile() != null) {
        b.trustManager(trustManager(options));
      }
      return b.build();
    } catch (IOException | java.security.GeneralSecurityException e) {
      throw new IllegalArgumentException(
          "upstreams[" + options.name() + "].caFile: " + e.getMessage(), e);
    }
  }

  /** The JDK's trust store plus the CA certificates in the upstream's PEM file. */
  private static TrustManagerFactory trustManager(UpstreamOptions options)
      throws IOException, java.security.GeneralSecurityException {
    KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
    ks.load(null, null);
    TrustManagerFactory jdk =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    jdk.init((KeyStore) null);
    int i = 0;
    for (var tm : jdk.getTrustManagers()) {
      if (tm instanceof X509TrustManager x) {
        for (X509Certificate c : x.getAcceptedIssuers()) {
          ks.setCertificateEntry("jdk-" + i++, c);
        }
      }
    }
    try (var in = java.nio.file.Files.newInputStream(options.caFile())) {
      for (var c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
        ks.setCertificateEntry("ca-" + i++, c);
      }
    }
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    return tmf;
  }

  private record Token(String value, Duration ttl) {}
}
