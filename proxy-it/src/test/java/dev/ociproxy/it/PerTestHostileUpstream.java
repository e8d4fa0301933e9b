package dev.ociproxy.it;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ociproxy.it.support.ProcessGuard;
import dev.ociproxy.it.support.ProxyProcess;
import dev.ociproxy.testing.HostileRegistry;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * For end-to-end tests that need a fresh hostile upstream per test: starts it, holds the proxy the
 * test starts in front of it and a pool for concurrent clients, and stops all three afterwards.
 */
@ExtendWith(ProcessGuard.class)
abstract class PerTestHostileUpstream {
  HostileRegistry up;
  ProxyProcess proxy;
  final ExecutorService pool = Executors.newCachedThreadPool();

  @BeforeEach
  void startUpstream() {
    assumeTrue(ProxyProcess.availability().available(), ProxyProcess.availability().reason());
    up = HostileRegistry.start();
  }

  @AfterEach
  void stopAll() {
    pool.shutdownNow();
    if (proxy != null) {
      proxy.close();
    }
    if (up != null) {
      up.close();
    }
  }
}
