package dev.ociproxy.core.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.handler.ssl.SslContext;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.Set;
import java.util.function.Supplier;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The upstream's TLS context is built when first needed (an http upstream's start does without the
 * JDK's TLS stack), once; a {@code caFile} is read at once, so a bad one stops the start.
 */
class UpstreamTlsTest {
  @TempDir Path dir;

  private static UpstreamOptions options(String url, @Nullable Path caFile) {
    return new UpstreamOptions(
        "up",
        URI.create(url),
        null,
        null,
        caFile,
        Duration.ofSeconds(1),
        Duration.ofSeconds(1),
        Set.of());
  }

  @Test
  void anHttpUpstreamsContext_isOneClientContext_builtOnFirstUse() {
    Supplier<SslContext> ssl = UpstreamTls.whenNeeded(options("http://r.example", null));
    SslContext first = ssl.get();
    assertThat(first.isClient()).isTrue();
    assertThat(ssl.get()).isSameAs(first);
  }

  @Test
  void anHttpsUpstreamsContext_isBuiltInTheBackgroundAndReadyWhenAsked() {
    Supplier<SslContext> ssl = UpstreamTls.whenNeeded(options("https://r.example", null));
    assertThat(ssl.get().isClient()).isTrue();
    assertThat(ssl.get()).isSameAs(ssl.get());
  }

  @Test
  void aCaFileIsReadAtOnce_soAMissingOneIsRefusedAtStart_namingTheKey() {
    Path missing = dir.resolve("missing-ca.pem");
    assertThatThrownBy(() -> UpstreamTls.whenNeeded(options("https://r.example", missing)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("upstreams[up].caFile: ");
  }

  @Test
  void aReadableCaFile_givesAContextAtOnce() throws Exception {
    TrustManagerFactory jdk =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    jdk.init((KeyStore) null);
    X509Certificate root = ((X509TrustManager) jdk.getTrustManagers()[0]).getAcceptedIssuers()[0];
    Path ca = dir.resolve("ca.pem");
    Files.writeString(
        ca,
        "-----BEGIN CERTIFICATE-----\n"
            + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(root.getEncoded())
            + "\n-----END CERTIFICATE-----\n");
    Supplier<SslContext> ssl = UpstreamTls.whenNeeded(options("http://r.example", ca));
    assertThat(ssl.get().isClient()).isTrue();
    assertThat(ssl.get()).isSameAs(ssl.get());
  }
}
