package dev.ociproxy.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ociproxy.core.shared.S3Options;
import java.net.URI;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * storage.s3: every key bound and checked, errors naming the key; absent, the disk only. Its
 * metadata secret is storage.s3.secret, else cluster.secret, else the start is refused.
 */
class StorageConfigTest {
  private static final String UPSTREAMS =
      """
      upstreams:
        - name: registry.example.com
          url: http://127.0.0.1:5000
          default: true
      """;

  private static final String STORE_SECRET = "bucket-metadata-secret-0123456789abcdef";
  private static final String CLUSTER_SECRET = "cluster-secret-0123456789abcdef-0123";

  /** The line that gives storage.s3 its secret from the environment. */
  private static final String SECRET = "    secret: \"${STORAGE_SECRET}\"\n";

  private static final String CLUSTER =
      "cluster:\n  peers: [\"10.0.0.5:5000\"]\n  advertise: \"10.0.0.5:5000\"\n"
          + "  secret: \"${CLUSTER_SECRET}\"\n";

  private static ProxyConfig parse(String yaml) {
    Map<String, String> env =
        Map.of(
            "S3_ACCESS_KEY",
            "AKIAEXAMPLE",
            "S3_SECRET_KEY",
            "s3cr3t",
            "STORAGE_SECRET",
            STORE_SECRET,
            "CLUSTER_SECRET",
            CLUSTER_SECRET);
    return new ConfigLoader(env::get).parse(UPSTREAMS + yaml);
  }

  @Test
  void withoutStorage_theLocalDiskIsTheOnlyStore() {
    assertThat(parse("").sharedStore()).isNull();
  }

  @Test
  void everyKeyOfTheIssuesExampleIsBoundWithEnvironmentSubstitution() {
    S3Options s3 =
        parse(
                """
                storage:
                  s3:
                    endpoint: "http://minio.internal:9000"
                    region: "us-east-1"
                    bucket: "registry-proxy"
                    prefix: "cache/"
                    pathStyle: true
                    accessKey: "${S3_ACCESS_KEY}"
                    secretKey: "${S3_SECRET_KEY}"
                    redirect: false
                    secret: "${STORAGE_SECRET}"
                """)
            .sharedStore();
    assertThat(s3)
        .isEqualTo(
            new S3Options(
                URI.create("http://minio.internal:9000"),
                "us-east-1",
                "registry-proxy",
                "cache/",
                true,
                "AKIAEXAMPLE",
                "s3cr3t",
                false,
                STORE_SECRET));
    assertThat(s3.toString()).doesNotContain("s3cr3t").doesNotContain(STORE_SECRET);
  }

  @Test
  void omittedKeysMeanAwsNoPrefixVirtualHostsAndTheDefaultCredentialChain() {
    S3Options s3 =
        parse("storage:\n  s3:\n    region: eu-west-1\n    bucket: b-1\n" + SECRET).sharedStore();
    assertThat(s3.endpoint()).isNull();
    assertThat(s3.prefix()).isEmpty();
    assertThat(s3.pathStyle()).isFalse();
    assertThat(s3.accessKey()).isNull();
    assertThat(s3.secretKey()).isNull();
    assertThat(s3.redirect()).isFalse();
  }

  @Test
  void aPrefixWithoutTheTrailingSlashGetsOne() {
    assertThat(
            parse("storage:\n  s3:\n    region: r\n    bucket: bkt\n    prefix: a/b\n" + SECRET)
                .sharedStore()
                .prefix())
        .isEqualTo("a/b/");
  }

  @Test
  void badValuesAreRefusedNamingTheirKey() {
    assertRefused("storage:\n  s3:\n    region: r\n", "storage.s3.bucket: missing");
    assertRefused("storage:\n  s3:\n    bucket: bkt\n", "storage.s3.region: missing");
    assertRefused("storage:\n  s3:\n    region: r\n    bucket: Bad_Bucket\n", "storage.s3.bucket:");
    assertRefused(
        "storage:\n  s3:\n    region: r\n    bucket: bkt\n    endpoint: ftp://x\n",
        "storage.s3.endpoint:");
    assertRefused(
        "storage:\n  s3:\n    region: r\n    bucket: bkt\n    prefix: ../up\n",
        "storage.s3.prefix:");
    assertRefused(
        "storage:\n  s3:\n    region: r\n    bucket: bkt\n    accessKey: a\n",
        "storage.s3.secretKey: missing");
    assertRefused(
        "storage:\n  s3:\n    region: r\n    bucket: bkt\n    pathStyle: maybe\n",
        "storage.s3.pathStyle");
    assertRefused("storage:\n  s3:\n    region: r\n    bucket: bkt\n    acl: x\n", "acl");
    assertRefused(
        "storage:\n  s3:\n    region: r\n    bucket: bkt\n    redirect: sometimes\n",
        "storage.s3.redirect");
  }

  @Test
  void redirectTrueIsTaken() {
    assertThat(
            parse("storage:\n  s3:\n    region: r\n    bucket: bkt\n    redirect: true\n" + SECRET)
                .sharedStore()
                .redirect())
        .isTrue();
  }

  @Test
  void withoutItsOwnSecretTheStoreTakesTheClusterSecret() {
    assertThat(parse("storage:\n  s3:\n    region: r\n    bucket: bkt\n" + CLUSTER).sharedStore())
        .extracting(S3Options::metadataSecret)
        .isEqualTo(CLUSTER_SECRET);
    assertThat(
            parse("storage:\n  s3:\n    region: r\n    bucket: bkt\n" + SECRET + CLUSTER)
                .sharedStore())
        .extracting(S3Options::metadataSecret)
        .isEqualTo(STORE_SECRET);
  }

  @Test
  void withNeitherSecretTheStartIsRefusedNamingStorageS3Secret() {
    // Unauthenticated links and tag records would let whoever writes the bucket decide what an
    // upstream may serve: refused, not run open.
    assertRefused(
        "storage:\n  s3:\n    region: r\n    bucket: bkt\n",
        "storage.s3.secret: missing (required without cluster.secret");
  }

  @Test
  void aShortOrUnsetSecretIsRefusedNamingStorageS3Secret() {
    assertRefused(
        "storage:\n  s3:\n    region: r\n    bucket: bkt\n    secret: too-short\n",
        "storage.s3.secret: 9 characters (expected at least 32");
    assertRefused(
        "storage:\n  s3:\n    region: r\n    bucket: bkt\n    secret: \"${NOT_SET_HERE}\"\n",
        "storage.s3.secret: refers to ${NOT_SET_HERE}");
    // Its own secret must be long enough even when a cluster secret would be.
    assertRefused(
        "storage:\n  s3:\n    region: r\n    bucket: bkt\n    secret: \"\"\n" + CLUSTER,
        "storage.s3.secret: 0 characters");
  }

  private static void assertRefused(String yaml, String message) {
    assertThatThrownBy(() -> parse(yaml))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(message);
  }
}
