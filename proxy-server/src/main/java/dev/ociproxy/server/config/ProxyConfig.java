package dev.ociproxy.server.config;

import dev.ociproxy.core.airgap.AirgapOptions;
import dev.ociproxy.core.cache.DirectWrites;
import dev.ociproxy.core.cluster.ClusterOptions;
import dev.ociproxy.core.policy.SignaturePolicy;
import dev.ociproxy.core.registry.MirrorOptions;
import dev.ociproxy.core.shared.S3Options;
import dev.ociproxy.core.upstream.RequestLimits;
import dev.ociproxy.core.upstream.UpstreamOptions;
import dev.ociproxy.core.wiring.Upstreams;
import dev.ociproxy.server.auth.AccessRule;
import dev.ociproxy.server.auth.AdminToken;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The validated configuration. Only {@link ConfigLoader} builds it; core components receive the
 * option records inside it.
 *
 * @param signatures the signature policy ({@code signaturePolicy}), or null for none
 * @param sharedStore the store replicas share ({@code storage.s3}), or null: the local disk only
 * @param cluster the replicas this one shares cold fetches with ({@code cluster}), or null when it
 *     runs alone
 */
public record ProxyConfig(
    InetSocketAddress listen,
    Path cacheDir,
    long cacheMaxSize,
    boolean verifyOnStart,
    DirectWrites directWrites,
    List<Upstream> upstreams,
    Limits limits,
    Auth auth,
    List<AccessRule> access,
    Operations operations,
    AirgapOptions airgap,
    @Nullable SignaturePolicy signatures,
    @Nullable S3Options sharedStore,
    @Nullable ClusterOptions cluster) {

  /** The upstream that references without an upstream prefix mean, or null when none is. */
  public @Nullable String defaultUpstream() {
    return upstreams.stream()
        .filter(Upstream::isDefault)
        .map(Upstream::name)
        .findFirst()
        .orElse(null);
  }

  /** What {@link Upstreams} wires: every upstream in configuration order. */
  public List<Upstreams.Spec> upstreamSpecs() {
    return upstreams.stream()
        .map(u -> new Upstreams.Spec(u.options(), u.mirror(), u.isDefault(), u.requestLimits()))
        .toList();
  }

  /** The largest manifest any upstream takes: the bound on one read back from the shared store. */
  public long manifestMaxBytes() {
    return upstreams.stream().mapToLong(u -> u.mirror().manifestMaxBytes()).max().orElse(0);
  }

  /** One configured upstream: how to reach it and how to cache it. */
  public record Upstream(
      UpstreamOptions options,
      MirrorOptions mirror,
      boolean isDefault,
      RequestLimits requestLimits) {
    public Upstream(UpstreamOptions options, MirrorOptions mirror, boolean isDefault) {
      this(options, mirror, isDefault, RequestLimits.unlimited());
    }

    public String name() {
      return options.name();
    }
  }

  /** Limits on what clients may send and what the proxy takes on at once. */
  public record Limits(
      int maxInitialLineLength,
      int maxHeaderSize,
      int maxHeaders,
      int maxConnections,
      Duration idleTimeout,
      int maxConcurrentFetches) {
    public static Limits defaults() {
      return new Limits(8192, 16384, 100, 4096, Duration.ofSeconds(60), 256);
    }
  }

  /**
   * Client authentication; null files mean that kind of credential is not accepted.
   *
   * @param enabled false when neither file is configured: anonymous pull, as a public mirror
   */
  public record Auth(
      boolean enabled,
      String realm,
      @Nullable Path htpasswd,
      @Nullable Path tokens,
      Map<String, Set<String>> groups) {
    public static Auth disabled() {
      return new Auth(false, "registry-proxy", null, null, Map.of());
    }
  }

  /**
   * How the proxy is operated: where health and metrics are served, listener TLS, log format and
   * the shutdown deadline.
   *
   * @param adminListen a separate listener for /metrics, /healthz and /readyz, or null to serve
   *     them on the main listener
   * @param adminToken what the admin actions on that listener require, or null for none
   * @param tls the main listener's certificate and key, or null for plain HTTP
   * @param logLevel root log level (e.g. INFO), or null to keep logback's ($LOG_LEVEL or INFO)
   * @param shutdownGracePeriod how long in-flight responses may run on after SIGTERM
   */
  public record Operations(
      @Nullable InetSocketAddress adminListen,
      @Nullable AdminToken adminToken,
      @Nullable Tls tls,
      LogFormat logFormat,
      @Nullable String logLevel,
      Duration shutdownGracePeriod,
      Duration startupWarmUp) {
    public static final Duration DEFAULT_SHUTDOWN_GRACE = Duration.ofSeconds(20);
    public static final Duration DEFAULT_STARTUP_WARM_UP = Duration.ofSeconds(15);

    public static Operations defaults() {
      return new Operations(
          null, null, null, LogFormat.TEXT, null, DEFAULT_SHUTDOWN_GRACE, DEFAULT_STARTUP_WARM_UP);
    }
  }

  /**
   * PEM certificate chain and PKCS#8 private key for the main listener.
   *
   * @param reloadInterval how often the files' modification times are checked; zero disables
   */
  public record Tls(Path cert, Path key, Duration reloadInterval) {}

  /** How log lines are written: a human-readable pattern or one JSON object per line. */
  public enum LogFormat {
    TEXT,
    JSON
  }
}
