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

/**
 * {@code proxy.yaml} as written, bound by {@link ConfigBinding}: unknown keys are refused, {@code
 * ${VAR}} is substituted in every value, and durations, sizes, addresses, booleans and whole
 * numbers are parsed while binding, so each error names its key. Null means "not given"; the
 * defaults and the rules between keys are {@link ConfigLoader}'s. A description is what the key
 * expects, for the message when it gets something of another shape.
 */
record ConfigFile(
    InetSocketAddress listen,
    Cache cache,
    @JsonPropertyDescription("a non-empty list") List<Upstream> upstreams,
    Limits limits,
    Auth auth,
    @JsonPropertyDescription("a list of rules") List<Access> access,
    Admin admin,
    Tls tls,
    Log log,
    Duration shutdownGracePeriod,
    Boolean offline,
    String policy,
    String pins,
    @JsonPropertyDescription("a list of image references (or {ref, platforms} entries)")
        List<Warm> warm,
    Duration warmInterval,
    @JsonPropertyDescription(
            "the path of a containers-policy.json file, or the same policy as a mapping")
        JsonNode signaturePolicy,
    Storage storage,
    Cluster cluster) {

  /** The sections whose absence means "all defaults" are never null. */
  ConfigFile {
    cache = cache != null ? cache : new Cache(null, null, null, null, null, null, null);
    limits = limits != null ? limits : new Limits(null, null, null, null, null, null);
    admin = admin != null ? admin : new Admin(null, null, null);
    log = log != null ? log : new Log(null, null);
    storage = storage != null ? storage : new Storage(null);
  }

  /** Where the verified store lives besides the local disk: nothing (the default) or S3. */
  record Storage(S3 s3) {}

  /** An S3-compatible object store that replicas share (see {@link StorageSettings}). */
  record S3(
      String endpoint,
      String region,
      String bucket,
      String prefix,
      Boolean pathStyle,
      String accessKey,
      String secretKey,
      Boolean redirect) {}

  record Cache(
      String dir,
      @JsonDeserialize(using = ConfigBinding.Size.class) Long maxSize,
      Boolean verifyOnStart,
      Duration tagTtl,
      @JsonDeserialize(using = ConfigBinding.Size.class) Long manifestMaxBytes,
      Boolean finishAbandonedDownloads,
      String directWrites) {}

  record Upstream(
      String name,
      String url,
      @JsonProperty("default") Boolean isDefault,
      String username,
      String password,
      String passwordFile,
      String caFile,
      Duration tagTtl,
      Duration connectTimeout,
      Duration readTimeout,
      Duration firstByteTimeout,
      Duration manifestTimeout,
      @JsonPropertyDescription("a list of host names") List<String> trustedRealmHosts,
      Boolean offline,
      String policy,
      Integer maxConcurrentRequests,
      String requestsPerSecond,
      @JsonPropertyDescription(
              "a list of {pattern, freshness} (e.g. - pattern: \"v*\"\\n  freshness: never)")
          List<FreshnessRule> freshness) {}

  /** How long tags matching {@code pattern} stay fresh: a duration, never or always. */
  record FreshnessRule(String pattern, String freshness) {}

  /** Every whole number here is a count that must be positive (see {@link ConfigBinding}). */
  record Limits(
      Integer maxInitialLineLength,
      Integer maxHeaderSize,
      Integer maxHeaders,
      Integer maxConnections,
      Duration idleTimeout,
      Integer maxConcurrentFetches) {}

  record Auth(
      String realm,
      String htpasswd,
      String tokens,
      @JsonPropertyDescription("a mapping of group name to a list of users")
          Map<String, List<String>> groups) {}

  record Access(
      String upstream,
      String repositories,
      Boolean anonymous,
      List<String> users,
      List<String> groups) {}

  record Admin(InetSocketAddress listen, String token, String tokenFile) {}

  record Tls(String cert, String key, Duration reloadInterval) {}

  record Log(String format, String level) {}

  /** Replicas that share one upstream fetch per blob (see {@link ClusterSettings}). */
  record Cluster(
      @JsonPropertyDescription("a list of host:port") List<String> peers,
      String peersDns,
      String advertise,
      String secret) {}

  /** An image to keep warm: a bare reference, or one with the platforms to fetch. */
  @JsonClassDescription("an image reference or {ref, platforms}")
  record Warm(
      String ref,
      @JsonPropertyDescription("a list such as [linux/amd64, linux/arm64]") List<String> platforms,
      Boolean referrers,
      @JsonPropertyDescription("a list such as [application/spdx+json]") List<String> artifactTypes,
      Boolean signatures) {
    @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
    static Warm of(String ref) {
      return new Warm(ref, null, null, null, null);
    }
  }
}
