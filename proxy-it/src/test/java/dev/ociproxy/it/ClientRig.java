package dev.ociproxy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.ociproxy.it.support.Availability;
import dev.ociproxy.it.support.Credentials;
import dev.ociproxy.it.support.Http;
import dev.ociproxy.it.support.OciImage;
import dev.ociproxy.it.support.Ports;
import dev.ociproxy.it.support.ProxyProcess;
import dev.ociproxy.it.support.Skopeo;
import dev.ociproxy.it.support.TempDirs;
import dev.ociproxy.it.support.TokenServer;
import dev.ociproxy.it.support.UpstreamRegistry;
import dev.ociproxy.testing.HostileRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What every real-client test class shares: the real proxy jar in front of three upstreams — an
 * open docker-registry, a docker-registry that hands out bearer tokens only to {@link #READER}
 * (whose credentials only the proxy holds), and a {@link HostileRegistry} that lies on request.
 *
 * <p>The proxy, the token server and the liar live as long as the class. The two docker-registry
 * upstreams are started per test ({@link #startOpen()}, {@link #startPrivate()}) on ports fixed for
 * the class, so a test may switch its upstream off for good and the next test starts a fresh one
 * where the proxy expects it; {@link #push} waits until the proxy reaches it (any back-off has
 * passed).
 */
final class ClientRig implements AutoCloseable {
  static final String OPEN = "registry.example.com";
  static final String PRIVATE = "private.example.com";
  static final String HOSTILE = "hostile.example.com";
  static final Credentials READER = new Credentials("reader", "reader-pass-42");

  private static final Duration RECONNECT_TIMEOUT = Duration.ofSeconds(90);
  private static final Pattern ACCESS =
      Pattern.compile(" access - (\\S+) (\\S+) (\\d+) (\\d+)B \\d+ms cache=(\\S+) upstream=(\\S+)");

  final String openName;
  final Path work;
  final int openPort;
  final int privatePort;
  final TokenServer tokens;
  final HostileRegistry hostile;
  final ProxyProcess proxy;
  private final List<AutoCloseable> owned;

  /** One request as the proxy's access log recorded it. */
  record Access(String method, String uri, int status, long bytes, String cache, String upstream) {
    String path() {
      int q = uri.indexOf('?');
      return q < 0 ? uri : uri.substring(0, q);
    }

    /** {@code "METHOD uri status"}, for readable assertions. */
    String line() {
      return method + " " + uri + " " + status;
    }
  }

  private ClientRig(
      String openName,
      Path work,
      int openPort,
      int privatePort,
      TokenServer tokens,
      HostileRegistry hostile,
      ProxyProcess proxy,
      List<AutoCloseable> owned) {
    this.openName = openName;
    this.work = work;
    this.openPort = openPort;
    this.privatePort = privatePort;
    this.tokens = tokens;
    this.hostile = hostile;
    this.proxy = proxy;
    this.owned = owned;
  }

  /** What a rig needs besides the client under test. */
  static Availability availability() {
    return UpstreamRegistry.availability()
        .and(Skopeo.availability())
        .and(TokenServer.availability())
        .and(ProxyProcess.availability());
  }

  /**
   * Starts the token server, the liar and a proxy that names the open registry {@code openName}
   * (its default upstream), the token registry {@link #PRIVATE} and the liar {@link #HOSTILE}.
   */
  static ClientRig start(String openName) {
    List<AutoCloseable> owned = new ArrayList<>();
    Path work = TempDirs.create("clients");
    owned.add(() -> TempDirs.deleteRecursively(work));
    try {
      int openPort = Ports.free();
      int privatePort = Ports.free();
      TokenServer tokens = add(owned, TokenServer.start().grant(READER, "pull"));
      HostileRegistry hostile = add(owned, HostileRegistry.start());
      ProxyProcess proxy =
          add(
              owned,
              ProxyProcess.builder()
                  .upstream(openName, "http://127.0.0.1:" + openPort)
                  .upstream(PRIVATE, "http://127.0.0.1:" + privatePort, READER)
                  .upstream(HOSTILE, hostile.url())
                  .upstreamYaml(
                      "trustedRealmHosts: [\"127.0.0.1\"]\n") // the token server: same host,
                  // another port
                  .start());
      return new ClientRig(openName, work, openPort, privatePort, tokens, hostile, proxy, owned);
    } catch (RuntimeException e) {
      closeAll(owned);
      throw e;
    }
  }

  /** Starts the open upstream (fresh data) where the proxy expects it; the caller closes it. */
  UpstreamRegistry startOpen() {
    return UpstreamRegistry.builder().port(openPort).start();
  }

  /**
   * Starts the token-auth upstream (fresh data) where the proxy expects it; the caller closes it.
   */
  UpstreamRegistry startPrivate() {
    return UpstreamRegistry.builder().tokenAuth(tokens).port(privatePort).start();
  }

  /** The name the proxy knows {@code upstream} by. */
  String nameOf(UpstreamRegistry upstream) {
    return upstream.port() == privatePort ? PRIVATE : openName;
  }

  /**
   * Pushes {@code image} to {@code upstream} as {@code repo:tag} (digests preserved), then waits
   * until the proxy lists that repository's tags through the upstream: a back-off left over from an
   * earlier test's switched-off upstream has passed.
   */
  void push(OciImage image, UpstreamRegistry upstream, String repo) {
    Skopeo.push(image, upstream, repo + ":" + image.tag());
    awaitProxyReaches(proxy, nameOf(upstream), repo);
  }

  /** A fresh path for an OCI layout in the rig's private directory. */
  Path layout(String name) {
    return work.resolve(name);
  }

  /** Every access-log line of {@code p} so far, oldest first. */
  static List<Access> accessLog(ProxyProcess p) {
    List<Access> out = new ArrayList<>();
    for (String line : p.log().split("\n")) {
      Matcher m = ACCESS.matcher(line);
      if (m.find()) {
        out.add(
            new Access(
                m.group(1),
                m.group(2),
                Integer.parseInt(m.group(3)),
                Long.parseLong(m.group(4)),
                m.group(5),
                m.group(6)));
      }
    }
    return out;
  }

  /**
   * Access-log entries of {@code p} whose path contains {@code fragment}, once there is one
   * (waiting up to 10 s): the proxy logs a request once its response has ended, so a client that
   * quits on an error can finish first.
   */
  static List<Access> awaitAccessLog(ProxyProcess p, String fragment) {
    ItFixtures.await(
        "an access-log line for " + fragment,
        Duration.ofSeconds(10),
        () -> accessLog(p).stream().anyMatch(a -> a.path().contains(fragment)));
    return accessLog(p).stream().filter(a -> a.path().contains(fragment)).toList();
  }

  /** Switches {@code upstream} off (it stays off: the test closes it) and runs {@code action}. */
  static void withUpstreamDown(UpstreamRegistry upstream, ThrowingRunnable action)
      throws Exception {
    upstream.stop();
    assertThat(Http.status(upstream.url() + "/v2/")).as("upstream is down").isEqualTo(-1);
    action.run();
  }

  /** Polls {@code tags/list} of {@code repo} through {@code p} until the upstream answers it. */
  static void awaitProxyReaches(ProxyProcess p, String upstreamName, String repo) {
    String url = p.url() + "/v2/" + repo + "/tags/list?ns=" + upstreamName;
    await("proxy reaches " + upstreamName + ": " + url)
        .atMost(RECONNECT_TIMEOUT)
        .pollInterval(Duration.ofMillis(250))
        .until(() -> Http.status(url), status -> status == 200);
  }

  /** A test step that runs throwing client commands. */
  @FunctionalInterface
  interface ThrowingRunnable {
    void run() throws Exception;
  }

  @Override
  public void close() {
    closeAll(owned);
  }

  private static <T extends AutoCloseable> T add(List<AutoCloseable> owned, T t) {
    owned.add(t);
    return t;
  }

  private static void closeAll(List<AutoCloseable> owned) {
    RuntimeException first = null;
    for (int i = owned.size() - 1; i >= 0; i--) {
      try {
        owned.get(i).close();
      } catch (Exception e) {
        if (first == null) {
          first = new IllegalStateException("closing " + owned.get(i), e);
        }
      }
    }
    owned.clear();
    if (first != null) {
      throw first;
    }
  }
}
