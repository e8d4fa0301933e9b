package dev.ociproxy.server;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/**
 * Turns SIGTERM and SIGINT into a graceful shutdown followed by exit status 0 — what container
 * runtimes and systemd expect from a clean stop (a JVM shutdown hook alone would exit 143). A
 * second signal during the drain stops waiting and closes everything at once. A shutdown hook still
 * closes the server on any other way out of the JVM.
 */
final class ShutdownSignals {
  private static final Logger log = LoggerFactory.getLogger(ShutdownSignals.class);

  private ShutdownSignals() {}

  static void install(ProxyServer server, Duration grace) {
    AtomicInteger received = new AtomicInteger();
    for (String name : new String[] {"TERM", "INT"}) {
      try {
        Signal.handle(
            new Signal(name),
            sig -> {
              if (received.incrementAndGet() > 1) {
                log.warn("SIG{} again: closing all connections now", name);
                try {
                  server.close();
                } finally {
                  System.exit(
                      0); // whatever became of the first signal's drain, this one ends the process
                }
                return;
              }
              log.info("SIG{} received: stopping (grace period {} ms)", name, grace.toMillis());
              // Not on the signal dispatcher thread: it must stay free to deliver a second signal.
              Thread t =
                  new Thread(
                      () -> {
                        int status = 1;
                        try {
                          server.shutdown(grace);
                          log.info("stopped");
                          status = 0;
                        } catch (RuntimeException | Error e) {
                          log.error("shutdown failed; exiting anyway", e);
                        } finally {
                          System.exit(status); // never left running with its listeners closed
                        }
                      },
                      "graceful-shutdown");
              t.start();
            });
      } catch (IllegalArgumentException e) {
        log.debug("cannot handle SIG{}: {}", name, e.getMessage()); // not a POSIX platform
      }
    }
    Runtime.getRuntime().addShutdownHook(new Thread(server::close, "shutdown"));
  }
}
