package dev.ociproxy.server.config;

import dev.ociproxy.core.cluster.ClusterOptions;
import dev.ociproxy.core.shared.S3Options;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * {@code storage.s3}: the shared store on an S3-compatible object store. Absent, the local disk is
 * the only store (the default). Every value is checked here, so a typo fails the start naming its
 * key rather than the first pull.
 */
final class StorageSettings {
  /** S3's bucket naming rules (3-63 characters; lowercase letters, digits, dots, hyphens). */
  private static final Pattern BUCKET = Pattern.compile("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]");

  /** A key prefix: path segments of safe characters, each followed by '/'. */
  private static final Pattern PREFIX = Pattern.compile("([A-Za-z0-9._-]+/)*");

  private StorageSettings() {}

  /**
   * The shared store, or null when {@code storage.s3} is not given.
   *
   * @param cluster whose secret authenticates the bucket's metadata when {@code storage.s3.secret}
   *     is omitted
   */
  static @Nullable S3Options parse(ConfigFile.Storage storage, @Nullable ClusterOptions cluster) {
    ConfigFile.S3 s = storage.s3();
    if (s == null) {
      return null;
    }
    String bucket = ConfigLoader.required("storage.s3.bucket", s.bucket()).trim();
    if (!BUCKET.matcher(bucket).matches() || bucket.contains("..")) {
      throw new ConfigException(
          "storage.s3.bucket",
          "'" + bucket + "' (expected an S3 bucket name: 3-63 of a-z, 0-9, '.', '-')");
    }
    String region = ConfigLoader.required("storage.s3.region", s.region()).trim();
    String prefix = s.prefix() == null ? "" : s.prefix().trim();
    if (!prefix.isEmpty() && !prefix.endsWith("/")) {
      prefix += "/";
    }
    if (!PREFIX.matcher(prefix).matches()
        || ("/" + prefix).contains("/./")
        || ("/" + prefix).contains("/../")) {
      throw new ConfigException(
          "storage.s3.prefix",
          "'"
              + s.prefix()
              + "' (expected path segments of A-Z, a-z, 0-9, '.', '_', '-', e.g. cache/)");
    }
    if ((s.accessKey() == null) != (s.secretKey() == null)) {
      throw new ConfigException(
          s.accessKey() == null ? "storage.s3.accessKey" : "storage.s3.secretKey",
          "missing: give both accessKey and secretKey, or neither for the SDK's default"
              + " credentials (environment, profile, instance role)");
    }
    if (s.accessKey() != null) {
      ConfigLoader.required("storage.s3.accessKey", s.accessKey());
      ConfigLoader.required("storage.s3.secretKey", s.secretKey());
    }
    return new S3Options(
        endpoint(s.endpoint()),
        region,
        bucket,
        prefix,
        ConfigLoader.orElse(s.pathStyle(), false),
        s.accessKey(),
        s.secretKey(),
        ConfigLoader.orElse(s.redirect(), false),
        metadataSecret(s.secret(), cluster));
  }

  /**
   * {@code storage.s3.secret}, else {@code cluster.secret}. Neither is refused: without a secret
   * the bucket's links, served marks and tag records could not be authenticated, and whoever can
   * write the bucket could make one upstream serve what another served, or roll tags back.
   */
  private static String metadataSecret(@Nullable String secret, @Nullable ClusterOptions cluster) {
    String key = "storage.s3.secret";
    if (secret == null) {
      if (cluster != null) {
        return cluster.secret();
      }
      throw new ConfigException(
          key,
          "missing (required without cluster.secret: at least "
              + ClusterOptions.MIN_SECRET_LENGTH
              + " characters shared by every replica of the bucket, e.g. openssl rand -hex 32;"
              + " it authenticates the bucket's links, served marks and tag records)");
    }
    if (secret.length() < ClusterOptions.MIN_SECRET_LENGTH) {
      throw new ConfigException(
          key,
          secret.length()
              + " characters (expected at least "
              + ClusterOptions.MIN_SECRET_LENGTH
              + ", e.g. openssl rand -hex 32)");
    }
    return secret;
  }

  private static @Nullable URI endpoint(@Nullable String v) {
    if (v == null) {
      return null;
    }
    String key = "storage.s3.endpoint";
    try {
      URI u = new URI(v.trim());
      if (!("http".equals(u.getScheme()) || "https".equals(u.getScheme()))
          || u.getHost() == null
          || u.getRawQuery() != null
          || u.getRawFragment() != null
          || u.getRawUserInfo() != null) {
        throw new ConfigException(
            key, "'" + v + "' (expected an http or https URL, e.g. http://minio.internal:9000)");
      }
      return u;
    } catch (URISyntaxException e) {
      throw new ConfigException(key, "'" + v + "' is not a URL: " + e.getReason());
    }
  }
}
