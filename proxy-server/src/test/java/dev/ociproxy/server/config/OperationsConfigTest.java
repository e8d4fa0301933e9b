package dev.ociproxy.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ociproxy.testing.TestCertificates;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The operational keys (admin, tls, log, shutdownGracePeriod): parsed, defaulted, and every error
 * names its key.
 */
class OperationsConfigTest {
  private static final String UPSTREAMS =
      "upstreams:\n  - name: up.test\n    url: http://127.0.0.1:1\n    default: true\n";

  @TempDir Path dir;

  private static ProxyConfig parse(String yaml) {
    return parse(yaml, Map.of());
  }

  private static ProxyConfig parse(String yaml, Map<String, String> env) {
    return new ConfigLoader(env::get).parse(yaml);
  }

  private static void assertRejected(String yaml, String key, String detail) {
    assertThatThrownBy(() -> parse(yaml))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith(key + ": ")
        .hasMessageContaining(detail);
  }

  @Test
  void withoutOperationalKeys_defaultsApply() {
    ProxyConfig.Operations ops = parse(UPSTREAMS).operations();
    assertThat(ops.adminListen()).isNull();
    assertThat(ops.tls()).isNull();
    assertThat(ops.logFormat()).isEqualTo(ProxyConfig.LogFormat.TEXT);
    assertThat(ops.logLevel()).isNull();
    assertThat(ops.shutdownGracePeriod()).isEqualTo(Duration.ofSeconds(20));
    assertThat(ops.startupWarmUp()).isEqualTo(Duration.ofSeconds(15));
  }

  @Test
  void startupWarmUp_isABudget_zeroTurnsItOff_andANegativeOrWordIsRefusedByName() {
    assertThat(parse(UPSTREAMS + "startupWarmUp: 4s\n").operations().startupWarmUp())
        .isEqualTo(Duration.ofSeconds(4));
    assertThat(parse(UPSTREAMS + "startupWarmUp: 0s\n").operations().startupWarmUp()).isZero();
    assertRejected(UPSTREAMS + "startupWarmUp: -1s\n", "startupWarmUp", "expected a duration");
    assertRejected(UPSTREAMS + "startupWarmUp: long\n", "startupWarmUp", "expected a duration");
  }

  @Test
  void operationalKeys_areParsed() {
    ProxyConfig.Operations ops =
        parse(
                UPSTREAMS
                    + "admin:\n  listen: 127.0.0.1:9090\nlog:\n  format: json\n  level: debug\nshutdownGracePeriod: 5s\n")
            .operations();
    assertThat(ops.adminListen()).isEqualTo(new InetSocketAddress("127.0.0.1", 9090));
    assertThat(ops.logFormat()).isEqualTo(ProxyConfig.LogFormat.JSON);
    assertThat(ops.logLevel()).isEqualTo("DEBUG");
    assertThat(ops.shutdownGracePeriod()).isEqualTo(Duration.ofSeconds(5));
  }

  @Test
  void logFormat_comesFromLogFormatEnvironmentVariable_whenTheFileSaysNothing() {
    assertThat(parse(UPSTREAMS, Map.of("LOG_FORMAT", "JSON")).operations().logFormat())
        .isEqualTo(ProxyConfig.LogFormat.JSON);
    assertThat(
            parse(UPSTREAMS + "log:\n  format: text\n", Map.of("LOG_FORMAT", "json"))
                .operations()
                .logFormat())
        .as("the file wins over the environment")
        .isEqualTo(ProxyConfig.LogFormat.TEXT);
    assertThatThrownBy(() -> parse(UPSTREAMS, Map.of("LOG_FORMAT", "xml")))
        .hasMessageStartingWith("LOG_FORMAT (environment): 'xml'");
  }

  @Test
  void badOperationalValues_nameTheirKey() {
    assertRejected(UPSTREAMS + "log:\n  format: yaml\n", "log.format", "expected text or json");
    assertRejected(UPSTREAMS + "log:\n  level: loud\n", "log.level", "expected one of");
    assertRejected(UPSTREAMS + "log:\n  colour: true\n", "log.colour", "unknown key");
    assertRejected(UPSTREAMS + "admin:\n  listen: nowhere\n", "admin.listen", "expected host:port");
    assertRejected(UPSTREAMS + "admin:\n  port: 9090\n", "admin.port", "unknown key");
    assertRejected(
        "listen: 127.0.0.1:5000\n" + UPSTREAMS + "admin:\n  listen: 127.0.0.1:5000\n",
        "admin.listen",
        "is the main listen address");
    assertRejected(
        UPSTREAMS + "shutdownGracePeriod: soon\n", "shutdownGracePeriod", "expected a duration");
    assertRejected(UPSTREAMS + "tls:\n  cert: /nonexistent/cert.pem\n", "tls.key", "missing");
    assertRejected(
        UPSTREAMS + "tls:\n  key: /k.pem\n  cert: /c.pem\n  ca: /ca.pem\n",
        "tls.ca",
        "unknown key");
  }

  @Test
  void cacheDirThatIsAFile_isRejectedNamingCacheDir() throws IOException {
    Path file = Files.writeString(dir.resolve("not-a-dir"), "x");
    assertRejected("cache:\n  dir: " + file + "\n" + UPSTREAMS, "cache.dir", "is not a directory");
  }

  @Test
  void tlsFilesThatCannotBeRead_nameTheFileKey() throws IOException {
    Path pem = Files.writeString(dir.resolve("garbage.pem"), "hello\n");
    assertRejected(
        UPSTREAMS + "tls:\n  cert: " + dir.resolve("missing.crt") + "\n  key: " + pem + "\n",
        "tls.cert",
        "cannot read");
    assertRejected(
        UPSTREAMS + "tls:\n  cert: " + pem + "\n  key: " + pem + "\n",
        "tls.cert",
        "no PEM certificate");
  }

  @Test
  void upstreamCaFileWithoutCertificates_isRejectedNamingTheKey() throws IOException {
    Path pem = Files.writeString(dir.resolve("ca.pem"), "not a certificate\n");
    assertRejected(
        "upstreams:\n  - name: up.test\n    url: https://127.0.0.1:1\n    caFile: " + pem + "\n",
        "upstreams[0].caFile",
        "certificate");
  }

  @ParameterizedTest
  @EnumSource(TestCertificates.KeyFormat.class)
  void tlsPair_inEveryCommonKeyEncoding_isAccepted(TestCertificates.KeyFormat format) {
    assumeTrue(TestCertificates.opensslAvailable(), "openssl not installed");
    TestCertificates.Pair pair = TestCertificates.create(dir, "server", format);
    ProxyConfig.Tls tls =
        parse(
                UPSTREAMS
                    + "tls:\n  cert: "
                    + pair.cert()
                    + "\n  key: "
                    + pair.key()
                    + "\n  reloadInterval: 0s\n")
            .operations()
            .tls();
    assertThat(tls.cert()).isEqualTo(pair.cert());
    assertThat(tls.key()).isEqualTo(pair.key());
    assertThat(tls.reloadInterval()).isZero();
  }

  @Test
  void tlsKeyOfAnotherCertificate_isRejectedNamingTlsKey() {
    assumeTrue(TestCertificates.opensslAvailable(), "openssl not installed");
    TestCertificates.Pair a =
        TestCertificates.create(dir, "a", TestCertificates.KeyFormat.PKCS8_RSA);
    TestCertificates.Pair b =
        TestCertificates.create(dir, "b", TestCertificates.KeyFormat.PKCS8_RSA);
    assertRejected(
        UPSTREAMS + "tls:\n  cert: " + a.cert() + "\n  key: " + b.key() + "\n",
        "tls.key",
        "is not the private key of the certificate");
  }

  @Test
  void adminToken_fromTheConfigOrAFileOrTheEnvironment_guardsTheAdminActions() throws IOException {
    String token = "s3cret-token-0123456789";
    ProxyConfig.Operations inline =
        parse(UPSTREAMS + "admin:\n  listen: 127.0.0.1:9090\n  token: " + token + "\n")
            .operations();
    assertThat(inline.adminToken().admits("Bearer " + token)).isTrue();
    assertThat(inline.adminToken().admits("Bearer " + token + "x")).isFalse();
    assertThat(inline.adminToken().toString()).doesNotContain(token);

    Path file = Files.writeString(dir.resolve("admin-token"), token + "\n");
    ProxyConfig.Operations fromFile =
        parse(UPSTREAMS + "admin:\n  listen: 127.0.0.1:9090\n  tokenFile: " + file + "\n")
            .operations();
    assertThat(fromFile.adminToken().admits("Bearer " + token))
        .as("trailing newline stripped")
        .isTrue();

    ProxyConfig.Operations fromEnv =
        parse(
                UPSTREAMS + "admin:\n  listen: 127.0.0.1:9090\n  token: ${ADMIN_TOKEN}\n",
                Map.of("ADMIN_TOKEN", token))
            .operations();
    assertThat(fromEnv.adminToken().admits("Bearer " + token)).isTrue();

    assertThat(parse(UPSTREAMS + "admin:\n  listen: 127.0.0.1:9090\n").operations().adminToken())
        .isNull();
  }

  @Test
  void badAdminTokens_areRejectedNamingTheirKey() throws IOException {
    String listen = UPSTREAMS + "admin:\n  listen: 127.0.0.1:9090\n";
    assertRejected(listen + "  token: short\n", "admin.token", "expected at least 16");
    assertRejected(
        listen + "  token: \"has a space in it, sixteen+\"\n", "admin.token", "whitespace");
    assertRejected(
        listen + "  tokenFile: " + dir.resolve("missing") + "\n", "admin.tokenFile", "cannot read");
    Path file = Files.writeString(dir.resolve("t"), "0123456789abcdef");
    assertRejected(
        listen + "  token: 0123456789abcdef\n  tokenFile: " + file + "\n",
        "admin.tokenFile",
        "not both");
    assertRejected(
        UPSTREAMS + "admin:\n  token: 0123456789abcdef\n",
        "admin.token",
        "expected admin.listen too");
  }

  @Test
  void tlsKeyFileHoldingACertificate_isRejectedNamingTlsKey() {
    assumeTrue(TestCertificates.opensslAvailable(), "openssl not installed");
    TestCertificates.Pair a = TestCertificates.create(dir, "a", TestCertificates.KeyFormat.SEC1_EC);
    assertRejected(
        UPSTREAMS + "tls:\n  cert: " + a.cert() + "\n  key: " + a.cert() + "\n",
        "tls.key",
        "holds a CERTIFICATE block");
  }
}
