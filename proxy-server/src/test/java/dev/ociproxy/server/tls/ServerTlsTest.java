package dev.ociproxy.server.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ociproxy.testing.TestCertificates;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The listener's TLS context follows certificate renewals on disk and survives broken ones. */
class ServerTlsTest {
  @TempDir Path dir;
  Path cert;
  Path key;

  @BeforeEach
  void firstCertificate() throws IOException {
    assumeTrue(TestCertificates.opensslAvailable(), "openssl not installed");
    TestCertificates.Pair first =
        TestCertificates.create(dir, "first", TestCertificates.KeyFormat.PKCS8_EC);
    cert = dir.resolve("tls.crt");
    key = dir.resolve("tls.key");
    Files.copy(first.cert(), cert);
    Files.copy(first.key(), key);
  }

  private void install(TestCertificates.Pair pair) throws IOException {
    Files.copy(pair.cert(), cert, StandardCopyOption.REPLACE_EXISTING);
    Files.copy(pair.key(), key, StandardCopyOption.REPLACE_EXISTING);
    bumpMtime();
  }

  /**
   * File systems with coarse timestamps could hide a quick rewrite; the test must not depend on
   * that.
   */
  private void bumpMtime() throws IOException {
    FileTime later = FileTime.fromMillis(Files.getLastModifiedTime(cert).toMillis() + 5_000);
    Files.setLastModifiedTime(cert, later);
    Files.setLastModifiedTime(key, later);
  }

  @Test
  void unchangedFiles_keepTheContext() throws Exception {
    ServerTls tls = ServerTls.load(cert, key);
    SslContext before = tls.current();
    assertThat(tls.reloadIfChanged()).isFalse();
    assertThat(tls.current()).isSameAs(before);
  }

  @Test
  void renewedCertificate_isUsedForNewConnections() throws Exception {
    ServerTls tls = ServerTls.load(cert, key);
    SslContext before = tls.current();
    install(TestCertificates.create(dir, "second", TestCertificates.KeyFormat.PKCS1_RSA));
    assertThat(tls.reloadIfChanged()).isTrue();
    assertThat(tls.current()).isNotSameAs(before);
    assertThat(tls.reloadIfChanged()).as("nothing changed since").isFalse();
  }

  @Test
  void halfWrittenRenewal_keepsThePreviousContext_andIsPickedUpOnceComplete() throws Exception {
    ServerTls tls = ServerTls.load(cert, key);
    SslContext before = tls.current();
    TestCertificates.Pair second =
        TestCertificates.create(dir, "second", TestCertificates.KeyFormat.SEC1_EC);
    // The new certificate is in place, the key is still the old one: a mismatched pair.
    Files.copy(second.cert(), cert, StandardCopyOption.REPLACE_EXISTING);
    bumpMtime();
    assertThat(tls.reloadIfChanged()).isFalse();
    assertThat(tls.current()).isSameAs(before);
    Files.copy(second.key(), key, StandardCopyOption.REPLACE_EXISTING);
    bumpMtime();
    assertThat(tls.reloadIfChanged()).isTrue();
    assertThat(tls.current()).isNotSameAs(before);
  }
}
