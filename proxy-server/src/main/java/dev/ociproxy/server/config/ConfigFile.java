package dev.ociproxy.server.config;

import com.fasterxml.jackson.annotation.JsonClassDescription;
import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.annotation.JsonDeserialize;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * {@code proxy.yaml} as written, bound by {@link ConfigBinding}: unknown keys are refused, {@code
 * ${VAR}} is substituted in every value, and durations, sizes, addresses, booleans and whole
 * numbers are parsed while binding, so each error names its key. Null means "not given"; the
 * defaults and the rules between keys are {@link ConfigLoader}'s. A description is what the key
 * expects, for the message when it gets something of another shape.
 */
record ConfigFile(
    @Nullable InetSocketAddress listen,
    Cache cache,
    @JsonPropertyDescription("a non-empty list") @Nullable List<Upstream> upstreams,
    Limits limits,
    @Nullable Auth auth,
    @JsonPropertyDescription("a list of rules") @Nullable List<Access> access,
    Admin admin,
    @Nullable Tls tls,
    Log log,
    @Nullable Duration shutdownGracePeriod,
    @Nullable Duration startupWarmUp,
    @Nullable Boolean offline,
    @Nullable String policy,
    @Nullable String pins,
    @JsonPropertyDescription("a list of image references (or {ref, platforms} entries)")
        @Nullable List<Warm> warm,
    @Nullable Duration warmInterval,
    @JsonPropertyDescription(
            "the path of a containers-policy.json file, or the same policy as a mapping")
        @Nullable JsonNode signaturePolicy,
    Storage storage,
    @Nullable Cluster cluster) {

  /** The sections whose absence means "all defaults" are never null. */
  ConfigFile {
    cache = cache != null ? cache : new Cache(null, null, null, null, null, null, null);
    limits = limits != null ? limits : new Limits(null, null, null, null, null, null);
    admin = admin != null ? admin : new Admin(null, null, null);
    log = log != null ? log : new Log(null, null);
    storage = storage != null ? storage : new Storage(null);
  }

  /** Where the verified store lives besides the local disk: nothing (the default) or S3. */
  record Storage(@Nullable S3 s3) {}

  /** An S3-compatible object store that replicas share (see {@link StorageSettings}). */
  record S3(
      @Nullable String endpoint,
      @Nullable String region,
      @Nullable String bucket,
      @Nullable String prefix,
      @Nullable Boolean pathStyle,
      @Nullable String accessKey,
      @Nullable String secretKey,
      @Nullable Boolean redirect,
      @Nullable String secret) {}

  record Cache(
      @Nullable String dir,
      @JsonDeserialize(using = ConfigBinding.Size.class) @Nullable Long maxSize,
      @Nullable Boolean verifyOnStart,
      @Nullable Duration tagTtl,
      @JsonDeserialize(using = ConfigBinding.Size.class) @Nullable Long manifestMaxBytes,
      @Nullable Boolean finishAbandonedDownloads,
      @Nullable String directWrites) {}

  record Upstream(
      @Nullable String name,
      @Nullable String url,
      @JsonProperty("default") @Nullable Boolean isDefault,
      @Nullable String username,
      @Nullable String password,
      @Nullable String passwordFile,
      @Nullable String caFile,
      @Nullable Duration tagTtl,
      @Nullable Duration connectTimeout,
      @Nullable Duration readTimeout,
      @Nullable Duration firstByteTimeout,
      @Nullable Duration manifestTimeout,
      @JsonPropertyDescription("a list of host names") @Nullable List<String> trustedRealmHosts,
      @Nullable Boolean offline,
      @Nullable String policy,
      @Nullable Integer maxConcurrentRequests,
      @Nullable String requestsPerSecond,
      @JsonPropertyDescription(
              "a list of {pattern, freshness} (e.g. - pattern: \"v*\"\\n  freshness: never)")
          @Nullable List<FreshnessRule> freshness) {}

  /** How long tags matching {@code pattern} stay fresh: a duration, never or always. */
  record FreshnessRule(@Nullable String pattern, @Nullable String freshness) {}

  /** Every whole number here is a count that must be positive (see {@link ConfigBinding}). */
  record Limits(
      @Nullable Integer maxInitialLineLength,
      @Nullable Integer maxHeaderSize,
      @Nullable Integer maxHeaders,
      @Nullable Integer maxConnections,
      @Nullable Duration idleTimeout,
      @Nullable Integer maxConcurrentFetches) {}

  record Auth(
      @Nullable String realm,
      @Nullable String htpasswd,
      @Nullable String tokens,
      @JsonPropertyDescription("a mapping of group name to a list of users")
          @Nullable Map<String, List<String>> groups) {}

  record Access(
      @Nullable String upstream,
      @Nullable String repositories,
      @Nullable Boolean anonymous,
      @Nullable List<String> users,
      @Nullable List<String> groups) {}

  record Admin(
      @Nullable InetSocketAddress listen, @Nullable String token, @Nullable String tokenFile) {}

  record Tls(@Nullable String cert, @Nullable String key, @Nullable Duration reloadInterval) {}

  record Log(@Nullable String format, @Nullable String level) {}

  /** Replicas that share one upstream fetch per blob (see {@link ClusterSettings}). */
  record Cluster(
      @JsonPropertyDescription("a list of host:port") @Nullable List<String> peers,
      @Nullable String peersDns,
      @Nullable String advertise,
      @Nullable String secret) {}

  /** An image to keep warm: a bare reference, or one with the platforms to fetch. */
  @JsonClassDescription("an image reference or {ref, platforms}")
  record Warm(
      @Nullable String ref,
      @JsonPropertyDescription("a list such as [linux/amd64, linux/arm64]")
          @Nullable List<String> platforms,
      @Nullable Boolean referrers,
      @JsonPropertyDescription("a list such as [application/spdx+json]")
          @Nullable List<String> artifactTypes,
      @Nullable Boolean signatures) {
    @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
    static Warm of(String ref) {
      return new Warm(ref, null, null, null, null);
    }
  }
}
