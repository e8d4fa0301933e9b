package dev.ociproxy.server.tls;

import static java.util.Objects.requireNonNull;

import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The main listener's TLS context, rebuilt when the PEM files change on disk (certificate renewal
 * by cert-manager, certbot, a mounted secret) so no restart is needed. New connections use the
 * newest good context; open connections keep theirs. A broken or half-written pair is logged and
 * ignored, and the previous context stays in use. Thread-safe.
 */
public final class ServerTls implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ServerTls.class);

  private final Path certFile;
  private final Path keyFile;
  private volatile SslContext current;
  private volatile String stamp;
  private @Nullable ScheduledFuture<?> reloading;

  private ServerTls(Path certFile, Path keyFile, SslContext first, String stamp) {
    this.certFile = certFile;
    this.keyFile = keyFile;
    this.current = first;
    this.stamp = stamp;
  }

  /** Reads and checks both files and builds the first context. */
  public static ServerTls load(Path certFile, Path keyFile) throws PemKeyPair.InvalidPemException {
    requireNonNull(certFile, "certFile");
    requireNonNull(keyFile, "keyFile");
    String stamp = stamp(certFile, keyFile);
    return new ServerTls(certFile, keyFile, build(PemKeyPair.read(certFile, keyFile)), stamp);
  }

  /** The context new connections should use. */
  public SslContext current() {
    return current;
  }

  /** Checks the files every {@code interval} on {@code executor}; zero or negative disables. */
  public synchronized void startReloading(ScheduledExecutorService executor, Duration interval) {
    if (interval.isZero() || interval.isNegative() || reloading != null) {
      return;
    }
    long ms = interval.toMillis();
    reloading =
        executor.scheduleWithFixedDelay(this::reloadIfChanged, ms, ms, TimeUnit.MILLISECONDS);
  }

  /**
   * Rebuilds the context when either file's modification time or size changed; returns true when a
   * new context is now in use.
   */
  public boolean reloadIfChanged() {
    String now = stamp(certFile, keyFile);
    if (now.equals(stamp)) {
      return false;
    }
    try {
      PemKeyPair pair = PemKeyPair.read(certFile, keyFile);
      current = build(pair);
      stamp = now;
      X509Certificate leaf = pair.chain().get(0);
      log.info(
          "reloaded TLS certificate from {} (subject {}, valid until {})",
          certFile,
          leaf.getSubjectX500Principal().getName(),
          leaf.getNotAfter().toInstant());
      return true;
    } catch (PemKeyPair.InvalidPemException e) {
      // Often a renewal caught between writing the certificate and the key: try again next time.
      log.warn(
          "TLS files changed but cannot be used yet, keeping the previous certificate: {}",
          e.getMessage());
      return false;
    }
  }

  private static SslContext build(PemKeyPair pair) throws PemKeyPair.InvalidPemException {
    try {
      return SslContextBuilder.forServer(pair.key(), pair.chain().toArray(new X509Certificate[0]))
          .build();
    } catch (SSLException | RuntimeException e) {
      throw new PemKeyPair.InvalidPemException(
          PemKeyPair.Which.KEY, "cannot build a TLS context: " + e.getMessage());
    }
  }

  private static String stamp(Path... files) {
    StringBuilder sb = new StringBuilder();
    for (Path f : files) {
      try {
        sb.append(Files.getLastModifiedTime(f).toMillis())
            .append('/')
            .append(Files.size(f))
            .append(';');
      } catch (IOException e) {
        sb.append("missing;");
      }
    }
    return sb.toString();
  }

  @Override
  public synchronized void close() {
    if (reloading != null) {
      reloading.cancel(false);
      reloading = null;
    }
  }
}
