package dev.ociproxy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ociproxy.it.support.CommandResult;
import dev.ociproxy.it.support.Commands;
import dev.ociproxy.it.support.ProcessGuard;
import dev.ociproxy.it.support.ProxyProcess;
import dev.ociproxy.it.support.TempDirs;
import dev.ociproxy.testing.TestCertificates;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code --check-config} with the real jar: exit 0 and a summary for a good file, exit 2 and a
 * message naming the offending key for a bad one — TLS files included. Start-up failures name the
 * key too.
 */
@ExtendWith(ProcessGuard.class)
class ConfigCheckIT {
  private static final String UPSTREAMS =
      "upstreams:\n  - name: up.test\n    url: \"http://127.0.0.1:5000\"\n    default: true\n";
  private static final String STORAGE = "storage:\n  s3:\n    region: r\n    bucket: bkt\n";
  static Path dir;
  static TestCertificates.Pair pair;
  static TestCertificates.Pair other;

  @BeforeAll
  static void files() {
    assumeTrue(ProxyProcess.availability().available(), ProxyProcess.availability().reason());
    dir = TempDirs.create("check-config");
    if (TestCertificates.opensslAvailable()) {
      pair = TestCertificates.create(dir, "server", TestCertificates.KeyFormat.PKCS1_RSA);
      other = TestCertificates.create(dir, "other", TestCertificates.KeyFormat.SEC1_EC);
    }
  }

  @AfterAll
  static void cleanUp() {
    if (dir != null) {
      TempDirs.deleteRecursively(dir);
    }
  }

  private static CommandResult run(String yaml, Map<String, String> env, String... args)
      throws IOException {
    Path file = Files.createTempFile(dir, "proxy", ".yaml");
    Files.writeString(file, yaml);
    List<String> cmd =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar",
                System.getProperty("proxy.jar"),
                "--config",
                file.toString()));
    cmd.addAll(List.of(args));
    return Commands.run(cmd, env, Duration.ofSeconds(60));
  }

  private static CommandResult check(String yaml) throws IOException {
    return run(yaml, Map.of(), "--check-config");
  }

  @Test
  void goodFile_withEveryOperationalKey_exits0AndSummarises() throws IOException {
    assumeTrue(pair != null, "openssl not installed");
    CommandResult r =
        check(
            "listen: \"127.0.0.1:5443\"\ncache:\n  dir: \""
                + dir.resolve("cache")
                + "\"\n"
                + UPSTREAMS
                + "admin:\n  listen: \"127.0.0.1:9090\"\n"
                + "tls:\n  cert: \""
                + pair.cert()
                + "\"\n  key: \""
                + pair.key()
                + "\"\n  reloadInterval: 1m\n"
                + "log:\n  format: json\n  level: warn\nshutdownGracePeriod: 45s\n");
    assertThat(r.exitCode()).as(r.describe()).isZero();
    assertThat(r.stdout())
        .startsWith("configuration OK: 1 upstream(s), listen 127.0.0.1")
        .contains("https, certificate " + pair.cert())
        .contains("127.0.0.1:9090")
        .contains("log format json");
    assertThat(Files.exists(dir.resolve("cache"))).as("checking creates nothing").isFalse();
  }

  static Stream<Arguments> badFiles() {
    return Stream.of(
        Arguments.of("no upstreams", "listen: \"127.0.0.1:1\"\n", "upstreams: missing"),
        Arguments.of(
            "bad upstream url",
            "upstreams:\n  - name: up.test\n    url: ftp://x\n",
            "upstreams[0].url: "),
        Arguments.of(
            "unknown key", UPSTREAMS + "cache:\n  size: 1GiB\n", "cache.size: unknown key"),
        Arguments.of("bad listen", "listen: \"localhost\"\n" + UPSTREAMS, "listen: 'localhost'"),
        Arguments.of("bad log format", UPSTREAMS + "log:\n  format: xml\n", "log.format: 'xml'"),
        Arguments.of(
            "bad grace",
            UPSTREAMS + "shutdownGracePeriod: forever\n",
            "shutdownGracePeriod: 'forever'"),
        Arguments.of(
            "admin on main port",
            "listen: \"127.0.0.1:5000\"\n" + UPSTREAMS + "admin:\n  listen: \"127.0.0.1:5000\"\n",
            "admin.listen: "),
        Arguments.of(
            "unset variable",
            UPSTREAMS.replace("http://127.0.0.1:5000", "${REGISTRY_PROXY_UNSET_FOR_TEST}"),
            "upstreams[0].url: refers to ${REGISTRY_PROXY_UNSET_FOR_TEST}"),
        Arguments.of(
            "shared store without a secret",
            UPSTREAMS + STORAGE,
            "storage.s3.secret: missing (required without cluster.secret"),
        Arguments.of(
            "short shared store secret",
            UPSTREAMS + STORAGE + "    secret: short\n",
            "storage.s3.secret: 5 characters (expected at least 32"),
        Arguments.of(
            "missing tls cert",
            UPSTREAMS + "tls:\n  cert: /nonexistent/tls.crt\n  key: /nonexistent/tls.key\n",
            "tls.cert: cannot read /nonexistent/tls.crt"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badFiles")
  void badFile_exits2_andTheMessageNamesTheKey(String what, String yaml, String expected)
      throws IOException {
    CommandResult r = check(yaml);
    assertThat(r.exitCode()).as(r.describe()).isEqualTo(2);
    assertThat(r.stderr()).as(r.describe()).contains("invalid configuration: " + expected);
    assertThat(r.stdout()).doesNotContain("configuration OK");
  }

  @Test
  void tlsKeyOfAnotherCertificate_exits2NamingTlsKey() throws IOException {
    assumeTrue(pair != null, "openssl not installed");
    CommandResult r =
        check(
            UPSTREAMS + "tls:\n  cert: \"" + pair.cert() + "\"\n  key: \"" + other.key() + "\"\n");
    assertThat(r.exitCode()).as(r.describe()).isEqualTo(2);
    assertThat(r.stderr())
        .contains("invalid configuration: tls.key: ")
        .contains("is not the private key of the certificate");
  }

  @Test
  void tlsCertThatIsNotPem_exits2NamingTlsCert() throws IOException {
    assumeTrue(pair != null, "openssl not installed");
    CommandResult r =
        check(UPSTREAMS + "tls:\n  cert: \"" + pair.key() + "\"\n  key: \"" + pair.key() + "\"\n");
    assertThat(r.exitCode()).as(r.describe()).isEqualTo(2);
    assertThat(r.stderr()).contains("invalid configuration: tls.cert: ");
  }

  @Test
  void variableSetInTheEnvironment_isSubstituted() throws IOException {
    CommandResult r =
        run(
            UPSTREAMS.replace("http://127.0.0.1:5000", "${REGISTRY_PROXY_UPSTREAM_FOR_TEST}"),
            Map.of("REGISTRY_PROXY_UPSTREAM_FOR_TEST", "https://registry.example.com"),
            "--check-config");
    assertThat(r.exitCode()).as(r.describe()).isZero();
  }

  @Test
  void sharedStoreWithoutAnySecret_failsTheStartWithExit2NamingStorageS3Secret()
      throws IOException {
    CommandResult r =
        run("cache:\n  dir: \"" + dir.resolve("c3") + "\"\n" + UPSTREAMS + STORAGE, Map.of());
    assertThat(r.exitCode()).as(r.describe()).isEqualTo(2);
    assertThat(r.stderr()).contains("invalid configuration: storage.s3.secret: missing");
  }

  @Test
  void listenAddressInUse_failsTheStartWithExit2NamingListen() throws IOException {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      CommandResult r =
          run(
              "listen: \"127.0.0.1:"
                  + taken.getLocalPort()
                  + "\"\ncache:\n  dir: \""
                  + dir.resolve("c2")
                  + "\"\n"
                  + UPSTREAMS,
              Map.of());
      assertThat(r.exitCode()).as(r.describe()).isEqualTo(2);
      assertThat(r.stderr()).contains("cannot start: listen: cannot listen on");
    }
  }
}
