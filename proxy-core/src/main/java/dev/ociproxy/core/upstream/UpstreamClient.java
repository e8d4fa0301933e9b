package dev.ociproxy.core.upstream;

import static java.util.Objects.requireNonNull;

import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.RegistryException;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.ssl.SslContext;
import java.net.URI;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * Talks to one upstream registry: sends each request in its turn (throttle, back-off), answers an
 * auth challenge once ({@link RegistryAuthenticator}), and follows redirects without ever sending
 * the upstream's {@code Authorization} to another origin. Thread-safe.
 */
public final class UpstreamClient {
  /** Redirect hops followed before giving up (blob storage normally needs one). */
  static final int MAX_REDIRECTS = 5;

  static final String USER_AGENT = "registry-proxy/0.1";

  private final UpstreamOptions options;
  private final HttpTransport transport;
  private final Supplier<SslContext> ssl;
  private final RegistryAuthenticator auth;
  private final UpstreamHealth health;
  private final UpstreamMetrics metrics;
  private final UpstreamThrottle throttle;
  private final AddressGuard guard;

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
    this.ssl = UpstreamTls.whenNeeded(options);
    this.health = new UpstreamHealth(options.name(), new RateLimitBudget(options.name(), meters));
    metrics.backoffGauge(health, UpstreamHealth::backoffSeconds);
    this.auth = new RegistryAuthenticator(options, transport, this::endpoint);
  }

  /** The token flow, for tests of where credentials may go. */
  RegistryAuthenticator auth() {
    return auth;
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
    return request(method, path, repository, accept, null);
  }

  /**
   * As {@link #request(HttpMethod, String, String, List)}, asking for part of the body: {@code
   * range} is the {@code Range} header's value (e.g. {@code bytes=1000-}), sent again after the
   * token flow and on every redirect, or null for the whole body.
   */
  public CompletableFuture<UpstreamResponse> request(
      HttpMethod method,
      String path,
      String repository,
      List<String> accept,
      @Nullable String range) {
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
          return attempt(method, uri, scope, accept, range, false, 0)
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
      @Nullable String range,
      boolean authTried,
      int hops) {
    HttpHeaders headers = new DefaultHttpHeaders();
    headers.set(HttpHeaderNames.USER_AGENT, USER_AGENT);
    if (range != null) {
      headers.set(HttpHeaderNames.RANGE, range);
    }
    if (accept != null && !accept.isEmpty()) {
      headers.set(HttpHeaderNames.ACCEPT, String.join(", ", accept));
    }
    boolean upstreamOrigin = sameOrigin(uri, options.url());
    if (upstreamOrigin) {
      String authorization = auth.authorization(scope);
      if (authorization != null) {
        headers.set(HttpHeaderNames.AUTHORIZATION, authorization);
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
                if (challenge != null && auth.canAnswer(challenge)) {
                  resp.drain();
                  return auth.answer(challenge, scope)
                      .thenCompose(v -> attempt(method, uri, scope, accept, range, true, hops));
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
                return attempt(method, next, scope, accept, range, authTried, hops + 1);
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

  static int port(URI u) {
    return u.getPort() != -1 ? u.getPort() : "https".equalsIgnoreCase(u.getScheme()) ? 443 : 80;
  }

  private Endpoint endpoint(URI uri) {
    Endpoint.Reach reach =
        sameOrigin(uri, options.url())
            ? Endpoint.Reach.UPSTREAM
            : auth.trustedRealm(uri) ? Endpoint.Reach.TRUSTED : Endpoint.Reach.ELSEWHERE;
    return Endpoint.of(
        uri,
        "https".equalsIgnoreCase(uri.getScheme()) ? ssl.get() : null,
        options.connectTimeout(),
        options.readTimeout(),
        options.firstByteTimeout(),
        metrics,
        reach,
        guard);
  }
}
