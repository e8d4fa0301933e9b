package dev.ociproxy.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ociproxy.core.shared.S3Options;
import java.net.URI;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** storage.s3: every key bound and checked, errors naming the key; absent, the disk only. */
class StorageConfigTest {
  private static final String UPSTREAMS =
      """
      upstreams:
        - name: registry.example.com
          url: http://127.0.0.1:5000
          default: true
      """;

  private static ProxyConfig parse(String yaml) {
    Map<String, String> env = Map.of("S3_ACCESS_KEY", "AKIAEXAMPLE", "S3_SECRET_KEY", "s3cr3t");
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
                false));
    assertThat(s3.toString()).doesNotContain("s3cr3t");
  }

  @Test
  void omittedKeysMeanAwsNoPrefixVirtualHostsAndTheDefaultCredentialChain() {
    S3Options s3 = parse("storage:\n  s3:\n    region: eu-west-1\n    bucket: b-1\n").sharedStore();
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
            parse("storage:\n  s3:\n    region: r\n    bucket: bkt\n    prefix: a/b\n")
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
        "storage:\n  s3:\n    region: r\n    bucket: bkt\n    redirect: true\n",
        "storage.s3.redirect: true is not supported yet");
  }

  private static void assertRefused(String yaml, String message) {
    assertThatThrownBy(() -> parse(yaml))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(message);
  }
}
