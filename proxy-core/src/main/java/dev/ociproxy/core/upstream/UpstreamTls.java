package dev.ociproxy.core.upstream;

import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * The TLS context an upstream client connects with: the JDK's trust store, plus the CA certificates
 * of the upstream's {@code caFile} when it names one (a private registry's own CA adds to the
 * public roots rather than replacing them, so its redirects to public storage still verify).
 */
final class UpstreamTls {
  private UpstreamTls() {}

  /**
   * @throws IllegalArgumentException naming {@code upstreams[<name>].caFile} when it cannot be read
   */
  static SslContext context(UpstreamOptions options) {
    try {
      SslContextBuilder b = SslContextBuilder.forClient();
      Path caFile = options.caFile();
      if (caFile != null) {
        b.trustManager(trustManager(caFile));
      }
      return b.build();
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalArgumentException(
          "upstreams[" + options.name() + "].caFile: " + e.getMessage(), e);
    }
  }

  private static TrustManagerFactory trustManager(Path caFile)
      throws IOException, GeneralSecurityException {
    KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
    ks.load(null, null);
    TrustManagerFactory jdk =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    jdk.init((KeyStore) null);
    int i = 0;
    for (var tm : jdk.getTrustManagers()) {
      if (tm instanceof X509TrustManager x) {
        for (X509Certificate c : x.getAcceptedIssuers()) {
          ks.setCertificateEntry("jdk-" + i++, c);
        }
      }
    }
    try (var in = Files.newInputStream(caFile)) {
      for (var c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
        ks.setCertificateEntry("ca-" + i++, c);
      }
    }
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    return tmf;
  }
}
