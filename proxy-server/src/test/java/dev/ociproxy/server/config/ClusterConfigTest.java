package dev.ociproxy.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ociproxy.core.cluster.ClusterOptions;
import dev.ociproxy.testing.TestCertificates;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code cluster} section: parsed, defaulted from listen, and every error names its key. */
class ClusterConfigTest {
  private static final String UPSTREAMS =
      "upstreams:\n  - name: up.test\n    url: http://127.0.0.1:1\n    default: true\n";
  private static final String SECRET = "0123456789abcdef0123456789abcdef";

  private static ProxyConfig parse(String yaml) {
    return new ConfigLoader(Map.of("CLUSTER_SECRET", SECRET)::get).parse(yaml);
  }

  private static void assertRejected(String yaml, String key, String detail) {
    assertThatThrownBy(() -> parse(yaml))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith(key + ": ")
        .hasMessageContaining(detail);
  }

  @Test
  void withoutAClusterSectionTheProxyRunsAlone() {
    assertThat(parse(UPSTREAMS).cluster()).isNull();
  }

  @Test
  void aStaticListIsParsedWithTheSecretFromTheEnvironment() {
    ClusterOptions c =
        parse(
                UPSTREAMS
                    + "cluster:\n  peers: [\"10.0.0.5:5000\", \"10.0.0.6:5000\"]\n"
                    + "  advertise: \"10.0.0.5:5000\"\n  secret: \"${CLUSTER_SECRET}\"\n")
            .cluster();
    assertThat(c.peers()).containsExactly("10.0.0.5:5000", "10.0.0.6:5000");
    assertThat(c.peersDns()).isNull();
    assertThat(c.advertise()).isEqualTo("10.0.0.5:5000");
    assertThat(c.secret()).isEqualTo(SECRET);
    assertThat(c.toString()).doesNotContain(SECRET);
  }

  @Test
  void aDnsNameIsParsedAndAdvertiseDefaultsToAConcreteListenAddress() {
    ClusterOptions c =
        parse(
                "listen: \"10.1.2.3:5001\"\n"
                    + UPSTREAMS
                    + "cluster:\n  peersDns: \"peers.ns.svc.cluster.local:5001\"\n"
                    + "  secret: \"${CLUSTER_SECRET}\"\n")
            .cluster();
    assertThat(c.peers()).isEmpty();
    assertThat(c.peersDns()).isEqualTo("peers.ns.svc.cluster.local:5001");
    assertThat(c.advertise()).isEqualTo("10.1.2.3:5001");
  }

  @Test
  void onAWildcardListenAdvertiseDefaultsToThisHostsAddressAndListensPort() {
    ClusterOptions c =
        parse(UPSTREAMS + "cluster:\n  peers: [\"10.0.0.6:5000\"]\n  secret: \"" + SECRET + "\"\n")
            .cluster();
    assertThat(c.advertise()).endsWith(":5000").doesNotStartWith("0.0.0.0");
  }

  @Test
  void everyMistakeNamesItsKey() {
    String secret = "  secret: \"" + SECRET + "\"\n";
    assertRejected(UPSTREAMS + "cluster:\n" + secret, "cluster.peers", "missing");
    assertRejected(UPSTREAMS + "cluster:\n  peers: []\n" + secret, "cluster.peers", "empty");
    assertRejected(
        UPSTREAMS + "cluster:\n  peers: [\"10.0.0.5:5000\", \"nohost\"]\n" + secret,
        "cluster.peers[1]",
        "host:port");
    assertRejected(
        UPSTREAMS + "cluster:\n  peers: [\"10.0.0.5:0\"]\n" + secret,
        "cluster.peers[0]",
        "non-zero port");
    assertRejected(
        UPSTREAMS + "cluster:\n  peers: [\"a:1\"]\n  peersDns: \"b:1\"\n" + secret,
        "cluster.peersDns",
        "not both");
    assertRejected(
        UPSTREAMS + "cluster:\n  peersDns: \"peers\"\n" + secret, "cluster.peersDns", "host:port");
    assertRejected(
        UPSTREAMS + "cluster:\n  peers: [\"a:1\"]\n  advertise: \"0.0.0.0:5000\"\n" + secret,
        "cluster.advertise",
        "wildcard");
    assertRejected(
        UPSTREAMS + "cluster:\n  peers: [\"a:1\"]\n", "cluster.secret", "missing (required)");
    assertRejected(
        UPSTREAMS + "cluster:\n  peers: [\"a:1\"]\n  secret: \"short\"\n",
        "cluster.secret",
        "5 characters (expected at least 32");
    assertRejected(
        UPSTREAMS + "cluster:\n  peers: [\"a:1\"]\n  secret: \"${NOT_SET}\"\n",
        "cluster.secret",
        "NOT_SET");
    assertRejected(
        UPSTREAMS + "cluster:\n  peers: \"a:1\"\n" + secret,
        "cluster.peers",
        "a list of host:port");
    assertRejected(
        UPSTREAMS + "cluster:\n  members: [\"a:1\"]\n" + secret, "cluster.members", "unknown key");
  }

  @Test
  void aClusterBehindAListenerWithTlsIsRefusedNamingTheKey(@TempDir Path d) {
    assumeTrue(TestCertificates.opensslAvailable(), "openssl not installed");
    TestCertificates.Pair pair =
        TestCertificates.create(d, "localhost", TestCertificates.KeyFormat.PKCS8_EC);
    Path cert = pair.cert();
    Path key = pair.key();
    assertRejected(
        UPSTREAMS
            + "tls:\n  cert: \""
            + cert
            + "\"\n  key: \""
            + key
            + "\"\ncluster:\n  peers: [\"a:1\"]\n  secret: \""
            + SECRET
            + "\"\n",
        "cluster",
        "plain HTTP");
  }
}
