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
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import org.jspecify.annotations.Nullable;

/**
 * The TLS context an upstream client connects with: the JDK's trust store, plus the CA certificates
 * of the upstream's {@code caFile} when it names one (a private registry's own CA adds to the
 * public roots rather than replacing them, so its redirects to public storage still verify).
 */
final class UpstreamTls {
  private UpstreamTls() {}

  /**
   * The context, when first needed. The JDK's TLS stack costs about 200 ms of a start (some 200
   * classes and the trust store, measured on the README's start command) that an upstream on http
   * may never need: there it is built on first use (a redirect to https storage). An https
   * upstream's is built at once on another thread, so the start does not wait for it and its first
   * fetch hardly; with a {@code caFile} it is built at once, so a bad file is refused at start.
   */
  static Supplier<SslContext> whenNeeded(UpstreamOptions options) {
    if (options.caFile() != null) {
      SslContext now = context(options);
      return () -> now;
    }
    if ("https".equalsIgnoreCase(options.url().getScheme())) {
      CompletableFuture<SslContext> soon = CompletableFuture.supplyAsync(() -> context(options));
      return soon::join;
    }
    return new Supplier<>() {
      private @Nullable SslContext built;

      @Override
      public synchronized SslContext get() {
        SslContext s = built;
        if (s == null) {
          s = context(options);
          built = s;
        }
        return s;
      }
    };
  }

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
