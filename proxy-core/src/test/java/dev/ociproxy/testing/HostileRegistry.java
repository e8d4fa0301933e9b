package dev.ociproxy.testing;

import static java.util.Objects.requireNonNull;

import dev.ociproxy.testing.Lie.Kind;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An OCI distribution-spec registry (read API only) on a loopback port that can be told to lie,
 * byte by byte, about selected blobs and manifests.
 *
 * <p>It speaks hand-written HTTP/1.1 over a {@link ServerSocket} (one pooled thread per connection,
 * keep-alive, HEAD, single-range GET) so that it can send what no HTTP library would: wrong
 * lengths, early closes, broken chunk framing. Every request is recorded. Lies are chosen per
 * request by a selector (see {@link #lie}); auth is off until {@link #requireBasic} or {@link
 * #requireBearer} is called. All methods are thread-safe.
 *
 * <pre>{@code
 * try (HostileRegistry reg = HostileRegistry.start()) {
 *   String d = reg.putBlob("test/repo", bytes);
 *   reg.lie(d, Lie.TRUNCATE);
 *   // … point the proxy at reg.url(), pull, then:
 *   assertThat(reg.count("GET", "/v2/test/repo/blobs/" + d)).isEqualTo(1);
 * }
 * }</pre>
 */
public final class HostileRegistry implements AutoCloseable {
  /** What {@link #putImage} stored. */
  public record Image(
      String repo,
      String tag,
      String manifestDigest,
      byte[] manifest,
      String configDigest,
      List<String> layerDigests) {}

  /** The referrers API: honest lists by default, and the lies it can be told to tell. */
  public ReferrerLists referrers() {
    return referrers;
  }

  /** Lies for requests matching {@code selector}; {@code remaining} < 0 means forever. */
  private record Rule(String selector, List<Lie> lies, AtomicInteger remaining) {
    boolean matches(String path) {
      return selector.equals("*") || path.equals(selector) || path.endsWith("/" + selector);
    }
  }

  private final ContentStore store = new ContentStore();
  private final AuthGate auth = new AuthGate();
  private final ReferrerLists referrers = new ReferrerLists();
  private final List<Rule> rules = new CopyOnWriteArrayList<>();
  private final List<RecordedRequest> requests = new CopyOnWriteArrayList<>();
  private final LoopbackServer server = new LoopbackServer(this::counted, requests::add);
  private final AtomicInteger active = new AtomicInteger();
  private final AtomicInteger peak = new AtomicInteger();
  private volatile CountDownLatch delayRelease = new CountDownLatch(1);
  private volatile RateLimit rateLimit;
  private volatile long retryAfterSeconds = 60;

  /** Docker Hub's budget: manifest GETs count, HEADs do not; every answer says what is left. */
  private static final class RateLimit {
    final int limit;
    final long windowSeconds;
    final String source;
    final AtomicInteger remaining;

    RateLimit(int limit, int remaining, long windowSeconds, String source) {
      this.limit = limit;
      this.remaining = new AtomicInteger(remaining);
      this.windowSeconds = windowSeconds;
      this.source = source;
    }
  }

  private HostileRegistry() {}

  /** Starts a registry on {@code 127.0.0.1} and a free port. */
  public static HostileRegistry start() {
    HostileRegistry reg = new HostileRegistry();
    reg.server.listen(0);
    return reg;
  }

  /** {@code http://127.0.0.1:PORT}, without a trailing slash. */
  public String url() {
    return "http://" + hostPort();
  }

  /** {@code 127.0.0.1:PORT}, the registry host as image references name it. */
  public String hostPort() {
    return "127.0.0.1:" + server.port();
  }

  public int port() {
    return server.port();
  }

  // ---------------------------------------------------------------- content

  /** Stores a blob in {@code repo}; returns its {@code sha256:<hex>} digest. */
  public String putBlob(String repo, byte[] bytes) {
    return putBlob(repo, bytes, "sha256");
  }

  /** Stores a blob under its {@code sha256} or {@code sha512} digest, which is returned. */
  public String putBlob(String repo, byte[] bytes, String algorithm) {
    String digest =
        switch (algorithm) {
          case "sha256" -> OciJson.sha256(bytes);
          case "sha512" -> OciJson.sha512(bytes);
          default ->
              throw new IllegalArgumentException(
                  "algorithm: " + algorithm + " (expected: sha256 or sha512)");
        };
    store.putBlob(requireNonNull(repo, "repo"), digest, bytes);
    return digest;
  }

  /**
   * Stores a manifest under its sha256 digest and (when {@code tag} is not null) tags it, moving
   * the tag if it existed. The bytes are served verbatim with Content-Type {@code mediaType}, so a
   * test may store anything, even invalid JSON, honestly.
   */
  public String putManifest(String repo, String tag, String mediaType, byte[] bytes) {
    String digest = OciJson.sha256(bytes);
    store.putManifest(
        requireNonNull(repo, "repo"),
        tag,
        new ContentStore.Manifest(requireNonNull(mediaType, "mediaType"), bytes.clone(), digest));
    return digest;
  }

  /** Stores an untagged manifest, reachable by digest only. */
  public String putManifest(String repo, String mediaType, byte[] bytes) {
    return putManifest(repo, null, mediaType, bytes);
  }

  /** Stores a config blob, the layer blobs and an OCI image manifest tagged {@code tag}. */
  public Image putImage(String repo, String tag, byte[]... layers) {
    byte[] config = OciJson.config(repo + ":" + tag);
    String configDigest = putBlob(repo, config);
    var descriptors = new OciJson.Descriptor[layers.length];
    var layerDigests = new ArrayList<String>();
    for (int i = 0; i < layers.length; i++) {
      layerDigests.add(putBlob(repo, layers[i]));
      descriptors[i] = OciJson.layer(layers[i]);
    }
    byte[] manifest =
        OciJson.manifest(
            new OciJson.Descriptor(OciJson.IMAGE_CONFIG, configDigest, config.length), descriptors);
    String digest = putManifest(repo, tag, OciJson.IMAGE_MANIFEST, manifest);
    return new Image(repo, tag, digest, manifest, configDigest, List.copyOf(layerDigests));
  }

  /** Removes a tag (the manifest stays reachable by digest); returns whether it existed. */
  public boolean removeTag(String repo, String tag) {
    return store.removeTag(repo, tag);
  }

  /** Removes a blob from {@code repo}; returns whether it existed. */
  public boolean removeBlob(String repo, String digest) {
    return store.removeBlob(repo, digest);
  }

  /** The valid image manifest that {@link Lie#MANIFEST_BY_DIGEST_SUBSTITUTED} serves. */
  public static byte[] substituteManifest() {
    return ContentLies.substituteManifest();
  }

  // ---------------------------------------------------------------- lies

  /**
   * Makes requests whose path matches {@code selector} lie, until {@link #unlie}/{@link #honest}.
   *
   * <p>A selector matches a path that equals it or ends with {@code "/" + selector}: a digest
   * ({@code sha256:…}, blob or manifest by digest), a tag ({@code v1}: manifests/v1 in every
   * repository), {@code "test/repo/manifests/v1"}, {@code "tags/list"}, {@code "/token"}, or {@code
   * "*"} for every request. Requests rejected by auth never lie. When several rules match, the most
   * recently added one wins (lies are not merged across rules).
   */
  public void lie(String selector, Lie... lies) {
    lieTimes(selector, -1, lies);
  }

  /** Like {@link #lie}, for the next {@code times} matching requests only; then honest again. */
  public void lieTimes(String selector, int times, Lie... lies) {
    requireNonNull(selector, "selector");
    if (lies.length == 0) {
      throw new IllegalArgumentException("lies: none (expected: at least one; use unlie to stop)");
    }
    rules.add(new Rule(selector, List.of(lies), new AtomicInteger(times)));
  }

  /** Removes every rule with exactly this selector. */
  public void unlie(String selector) {
    rules.removeIf(r -> r.selector().equals(selector));
  }

  /**
   * Ends every {@link Lie#delayHeaders} delay in progress now; later requests are delayed again. A
   * test that held a request back until it saw what it waited for need not sit out the rest.
   */
  public void releaseDelays() {
    CountDownLatch held = delayRelease;
    delayRelease = new CountDownLatch(1);
    held.countDown();
  }

  /** Removes all lies; content, auth and recorded requests stay. */
  public void honest() {
    rules.clear();
  }

  private List<Lie> liesFor(String path) {
    List<Rule> snapshot = new ArrayList<>(rules);
    for (int i = snapshot.size() - 1; i >= 0; i--) {
      Rule r = snapshot.get(i);
      if (r.matches(path)) {
        int before = r.remaining().getAndUpdate(n -> n > 0 ? n - 1 : n);
        if (before != 0) {
          return r.lies();
        }
      }
    }
    return List.of();
  }

  // ---------------------------------------------------------------- rate limit

  /**
   * Counts manifest GETs against a budget the way Docker Hub does (HEADs are free): every answer
   * carries {@code ratelimit-limit: <limit>;w=<window>}, {@code ratelimit-remaining:
   * <left>;w=<window>} and {@code docker-ratelimit-source}; a manifest GET once nothing is left is
   * a 429 with {@link #rateLimitRetryAfter Retry-After}. Replaces any budget set before.
   */
  public void rateLimit(int limit, int remaining, long windowSeconds) {
    if (limit < 0 || remaining < 0 || remaining > limit || windowSeconds <= 0) {
      throw new IllegalArgumentException(
          "limit "
              + limit
              + ", remaining "
              + remaining
              + ", window "
              + windowSeconds
              + " (expected: 0 <= remaining <= limit, window > 0)");
    }
    rateLimit = new RateLimit(limit, remaining, windowSeconds, "127.0.0.1");
  }

  /** The Retry-After (seconds) of the 429 a spent budget answers; 60 unless set. */
  public void rateLimitRetryAfter(long seconds) {
    retryAfterSeconds = seconds;
  }

  /** Stops counting and sending rate-limit headers. */
  public void noRateLimit() {
    rateLimit = null;
  }

  /** What is left of the budget, or -1 without one. */
  public int rateLimitRemaining() {
    RateLimit r = rateLimit;
    return r == null ? -1 : r.remaining.get();
  }

  /** Applies the budget to one answer; returns the 429 that replaces it, or null. */
  private Reply budget(RecordedRequest req, OciRoutes.Route route, Reply reply) {
    RateLimit r = rateLimit;
    if (r == null) {
      return null;
    }
    Reply out = null;
    if (req.method().equals("GET") && route.kind() == OciRoutes.Route.Kind.MANIFEST) {
      int before = r.remaining.getAndUpdate(n -> n > 0 ? n - 1 : n);
      if (before == 0) {
        out =
            Reply.error(429, "TOOMANYREQUESTS", "You have reached your pull rate limit.", "")
                .header("Retry-After", Long.toString(retryAfterSeconds));
      }
    }
    Reply target = out != null ? out : reply;
    target.header("ratelimit-limit", r.limit + ";w=" + r.windowSeconds);
    target.header("ratelimit-remaining", r.remaining.get() + ";w=" + r.windowSeconds);
    target.header("docker-ratelimit-source", r.source);
    return out;
  }

  // ---------------------------------------------------------------- observation

  /** The most requests this registry was answering at the same time (body written included). */
  public int peakConcurrentRequests() {
    return peak.get();
  }

  /** Every request received so far (token requests included), in arrival order. */
  public List<RecordedRequest> requests() {
    return List.copyOf(requests);
  }

  /** Requests with this method ({@code null} for any) whose path starts with {@code pathPrefix}. */
  public List<RecordedRequest> requests(String method, String pathPrefix) {
    return requests.stream()
        .filter(r -> method == null || r.method().equals(method))
        .filter(r -> r.path().startsWith(pathPrefix))
        .toList();
  }

  /**
   * How many requests had this method ({@code null} for any) and a path starting with the prefix.
   */
  public int count(String method, String pathPrefix) {
    return requests(method, pathPrefix).size();
  }

  /** How many TCP connections have been accepted so far. */
  public int connectionCount() {
    return server.connectionCount();
  }

  public void clearRequests() {
    requests.clear();
  }

  // ---------------------------------------------------------------- auth

  /** Every request needs {@code Authorization: Basic …} with these credentials, else 401 Basic. */
  public void requireBasic(String user, String password) {
    auth.basic(requireNonNull(user, "user"), requireNonNull(password, "password"));
  }

  /**
   * Docker token auth with anonymous tokens: every request needs a Bearer token whose scope covers
   * the path's repository (any valid token for {@code /v2/}), else 401 with {@code Bearer
   * realm="<url>/token",service="hostile",scope="repository:<repo>:pull"}.
   */
  public void requireBearer() {
    auth.bearer(null, null);
  }

  /** Like {@link #requireBearer()}, but {@code GET /token} itself needs these Basic credentials. */
  public void requireBearer(String user, String password) {
    auth.bearer(requireNonNull(user, "user"), requireNonNull(password, "password"));
  }

  /** Turns auth off again. */
  public void allowAnonymous() {
    auth.anonymous();
  }

  /** Lifetime of tokens issued from now on (default 60 s; {@code expires_in} is at least 1). */
  public void tokenTtl(Duration ttl) {
    auth.tokenTtl(requireNonNull(ttl, "ttl"));
  }

  /** Invalidates every issued token; their next use gets 401 {@code error="invalid_token"}. */
  public void expireTokens() {
    auth.expireAll();
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Simulates the upstream going down: stops listening (connects are refused once this returns) and
   * closes every open connection. Content, lies, auth and records are kept for {@link #restart}.
   */
  public void stop() {
    server.stop();
  }

  /** Listens again on the same port after {@link #stop}; does nothing while running. */
  public void restart() {
    server.listen(server.port());
  }

  /** Stops for good and releases the threads. */
  @Override
  public void close() {
    server.close();
  }

  private boolean counted(RecordedRequest req, OutputStream out) throws IOException {
    peak.accumulateAndGet(active.incrementAndGet(), Math::max);
    try {
      return exchange(req, out);
    } finally {
      active.decrementAndGet();
    }
  }

  /** Answers one request; returns whether the connection may carry another. */
  private boolean exchange(RecordedRequest req, OutputStream out) throws IOException {
    boolean keepAlive =
        req.version().equals("HTTP/1.1")
            && !req.header("Connection").orElse("").equalsIgnoreCase("close")
            && req.header("Transfer-Encoding").isEmpty();
    OciRoutes.Route route = OciRoutes.parse(req.path());
    Reply challenge =
        route.kind() == OciRoutes.Route.Kind.TOKEN ? null : auth.check(req, route.repo(), url());
    if (challenge != null) {
      return ReplyWriter.write(challenge, req, Set.of(), -1, keepAlive, out);
    }
    List<Lie> lies = liesFor(req.path());
    Set<Kind> kinds = EnumSet.noneOf(Kind.class);
    long trickle = -1;
    Reply reply = null;
    lies.forEach(l -> kinds.add(l.kind()));
    if (kinds.contains(Kind.CLOSE_BEFORE_HEADERS)) {
      return false;
    }
    for (Lie lie : lies) {
      switch (lie.kind()) {
        case DELAY_HEADERS:
          ReplyWriter.pause(delayRelease, lie.millis());
          break;
        case TRICKLE:
          trickle = lie.millis();
          break;
        case STATUS:
          if (reply == null) {
            reply = statusReply(lie);
          }
          break;
        case REDIRECT_TO:
          if (reply == null) {
            reply = new Reply(307).header("Location", lie.target().url() + req.target());
          }
          break;
        default:
          break;
      }
    }
    if (reply == null) {
      reply =
          switch (route.kind()) {
            case TOKEN -> auth.token(req);
            case REFERRERS -> referrers.answer(req, route, store);
            default -> OciRoutes.answer(req, route, store);
          };
      ContentLies.apply(reply, kinds, lies);
      Reply spent = reply.status == 200 ? budget(req, route, reply) : null;
      if (spent != null) {
        reply = spent;
      }
    }
    return ReplyWriter.write(reply, req, kinds, trickle, keepAlive, out);
  }

  private static Reply statusReply(Lie lie) {
    int code = lie.statusCode();
    String oci =
        switch (code) {
          case 401 -> "UNAUTHORIZED";
          case 403 -> "DENIED";
          case 429 -> "TOOMANYREQUESTS";
          case 502, 503, 504 -> "UNAVAILABLE";
          default -> "UNKNOWN";
        };
    Reply r = Reply.error(code, oci, "hostile registry says " + code, "");
    if (lie.retryAfterSeconds() >= 0) {
      r.header("Retry-After", Long.toString(lie.retryAfterSeconds()));
    }
    return r;
  }

  @Override
  public String toString() {
    return "HostileRegistry["
        + url()
        + ", "
        + requests.size()
        + " requests]"
        + (server.running() ? "" : " (stopped)");
  }
}
