package dev.ociproxy.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Self-signed server certificates for {@code 127.0.0.1} and {@code localhost}, made with the {@code
 * openssl} command in the key encodings operators really have: PKCS#8, PKCS#1 RSA and SEC1 EC. Also
 * builds an {@link SSLContext} that trusts exactly one such certificate.
 */
public final class TestCertificates {
  /** A certificate file and its key file. */
  public record Pair(Path cert, Path key) {}

  /** How the private key is encoded in its PEM file. */
  public enum KeyFormat {
    /** {@code BEGIN PRIVATE KEY} (RSA). */
    PKCS8_RSA,
    /** {@code BEGIN RSA PRIVATE KEY}. */
    PKCS1_RSA,
    /** {@code BEGIN EC PRIVATE KEY} (P-256). */
    SEC1_EC,
    /** {@code BEGIN PRIVATE KEY} (P-256). */
    PKCS8_EC
  }

  private TestCertificates() {}

  /** True when the openssl command can be run. */
  public static boolean opensslAvailable() {
    try {
      return new ProcessBuilder("openssl", "version").redirectErrorStream(true).start().waitFor()
          == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** Writes {@code name.crt} and {@code name.key} into {@code dir}. */
  public static Pair create(Path dir, String name, KeyFormat format) {
    Path cert = dir.resolve(name + ".crt");
    Path key = dir.resolve(name + ".key");
    Path raw = dir.resolve(name + ".raw.key");
    switch (format) {
      case PKCS8_RSA, PKCS1_RSA ->
          openssl(
              "genpkey",
              "-algorithm",
              "RSA",
              "-pkeyopt",
              "rsa_keygen_bits:2048",
              "-out",
              raw.toString());
      case SEC1_EC, PKCS8_EC ->
          openssl(
              "genpkey",
              "-algorithm",
              "EC",
              "-pkeyopt",
              "ec_paramgen_curve:P-256",
              "-out",
              raw.toString());
    }
    openssl(
        "req",
        "-x509",
        "-key",
        raw.toString(),
        "-out",
        cert.toString(),
        "-days",
        "2",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=IP:127.0.0.1,DNS:localhost");
    switch (format) {
      case PKCS8_RSA, PKCS8_EC -> copy(raw, key);
      case PKCS1_RSA ->
          openssl("rsa", "-in", raw.toString(), "-traditional", "-out", key.toString());
      case SEC1_EC -> openssl("ec", "-in", raw.toString(), "-out", key.toString());
    }
    try {
      Files.delete(raw);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return new Pair(cert, key);
  }

  /** A TLS client context that trusts only the certificates in {@code certFile}. */
  public static SSLContext trusting(Path certFile) {
    try (InputStream in = Files.newInputStream(certFile)) {
      KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
      ks.load(null, null);
      int i = 0;
      for (var c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
        ks.setCertificateEntry("c" + i++, (X509Certificate) c);
      }
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(ks);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, tmf.getTrustManagers(), null);
      return ctx;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void copy(Path from, Path to) {
    try {
      Files.copy(from, to, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void openssl(String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add("openssl");
    cmd.addAll(List.of(args));
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException("timed out: " + String.join(" ", cmd));
      }
      if (p.exitValue() != 0) {
        throw new IllegalStateException(
            String.join(" ", cmd)
                + " exited "
                + p.exitValue()
                + ":\n"
                + new String(out, StandardCharsets.UTF_8));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
