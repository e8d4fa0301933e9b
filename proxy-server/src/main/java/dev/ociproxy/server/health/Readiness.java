package dev.ociproxy.server.health;

import static java.util.Objects.requireNonNull;

import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Answers "can this proxy serve pulls now?": the cache's {@code tmp/} directory takes a new file
 * (really created and deleted, so a full disk, a read-only remount or a vanished volume all count),
 * at least one upstream is configured, and the server is not shutting down.
 *
 * <p>The file check runs on its own daemon thread with a deadline, so a hung disk makes the proxy
 * unready instead of blocking an event loop.
 */
public final class Readiness implements AutoCloseable {
  /** A disk check slower than this counts as a failure. */
  static final Duration CHECK_TIMEOUT = Duration.ofSeconds(2);

  private final Path cacheTmp;
  private final int upstreams;
  private final BooleanSupplier shuttingDown;
  private final ExecutorService disk =
      Executors.newSingleThreadExecutor(new DefaultThreadFactory("readiness-check", true));

  /** The outcome: ready, or not with a one-line reason. */
  public record Result(boolean ready, String reason) {
    static final Result READY = new Result(true, "ready");
  }

  /**
   * @param cacheRoot the cache directory (the check writes to its {@code tmp/})
   * @param upstreams how many upstreams are configured
   * @param shuttingDown true once a graceful shutdown has begun
   */
  public Readiness(Path cacheRoot, int upstreams, BooleanSupplier shuttingDown) {
    this.cacheTmp = requireNonNull(cacheRoot, "cacheRoot").resolve("tmp");
    this.upstreams = upstreams;
    this.shuttingDown = requireNonNull(shuttingDown, "shuttingDown");
  }

  public CompletableFuture<Result> check() {
    if (shuttingDown.getAsBoolean()) {
      return CompletableFuture.completedFuture(new Result(false, "shutting down"));
    }
    if (upstreams < 1) {
      return CompletableFuture.completedFuture(new Result(false, "no upstream configured"));
    }
    return CompletableFuture.supplyAsync(this::probeCache, disk)
        .completeOnTimeout(
            new Result(
                false,
                "cache dir check took longer than "
                    + CHECK_TIMEOUT.toMillis()
                    + " ms: "
                    + cacheTmp),
            CHECK_TIMEOUT.toMillis(),
            TimeUnit.MILLISECONDS);
  }

  private Result probeCache() {
    Path probe;
    try {
      probe = Files.createTempFile(cacheTmp, "readyz-", ".probe");
    } catch (IOException | RuntimeException e) {
      return new Result(
          false, "cache dir not writable: cannot create a file in " + cacheTmp + ": " + e);
    }
    Result result = Result.READY;
    try {
      Files.write(probe, new byte[] {1});
    } catch (IOException e) {
      result = new Result(false, "cache dir not writable: cannot write " + probe + ": " + e);
    }
    try {
      Files.deleteIfExists(probe);
    } catch (IOException e) {
      // A file we could create but not delete: report it rather than leak probes silently.
      result = new Result(false, "cache dir not writable: cannot delete " + probe + ": " + e);
    }
    return result;
  }

  @Override
  public void close() {
    disk.shutdownNow();
  }
}
