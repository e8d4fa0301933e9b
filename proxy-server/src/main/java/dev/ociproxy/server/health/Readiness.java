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
import org.jspecify.annotations.Nullable;

/**
 * Answers "can this proxy serve pulls now?": the cache's {@code tmp/} directory takes a new file
 * (really created and deleted, so a full disk, a read-only remount or a vanished volume all count),
 * at least one upstream is configured, the shared store (when {@code storage.s3} is configured)
 * answers, and the server is not shutting down.
 *
 * <p>The file check runs on its own daemon thread with a deadline, so a hung disk makes the proxy
 * unready instead of blocking an event loop.
 */
public final class Readiness implements AutoCloseable {
  /** A disk check slower than this counts as a failure. */
  static final Duration CHECK_TIMEOUT = Duration.ofSeconds(2);

  /** A shared store slower than this to answer counts as unreachable (a round trip, not a disk). */
  static final Duration STORE_TIMEOUT = Duration.ofSeconds(5);

  private final Path cacheTmp;
  private final int upstreams;
  private final BooleanSupplier shuttingDown;
  private final @Nullable StoreCheck sharedStore;

  /** Unready with {@link #holdReason} until this completes (the start's warm-up); null: none. */
  private volatile @Nullable CompletableFuture<?> hold;

  private volatile String holdReason = "";

  /** Asks the shared store whether it is reachable; throws with the reason when not. */
  public interface StoreCheck {
    void check() throws IOException;
  }

  private final ExecutorService disk =
      Executors.newSingleThreadExecutor(new DefaultThreadFactory("readiness-check", true));

  /** The store check's own thread: a hung socket must not hold up the disk check. */
  private final ExecutorService network =
      Executors.newSingleThreadExecutor(new DefaultThreadFactory("readiness-store-check", true));

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
    this(cacheRoot, upstreams, shuttingDown, null);
  }

  /**
   * @param sharedStore the shared store's check, or null when there is none
   */
  public Readiness(
      Path cacheRoot,
      int upstreams,
      BooleanSupplier shuttingDown,
      @Nullable StoreCheck sharedStore) {
    this.sharedStore = sharedStore;
    this.cacheTmp = requireNonNull(cacheRoot, "cacheRoot").resolve("tmp");
    this.upstreams = upstreams;
    this.shuttingDown = requireNonNull(shuttingDown, "shuttingDown");
  }

  /**
   * Reports unready with {@code reason} until {@code until} completes, however it completes: the
   * warm-up at start, so that a load balancer sends traffic only to a proxy whose hot paths are
   * compiled.
   */
  public void holdUntil(CompletableFuture<?> until, String reason) {
    this.holdReason = requireNonNull(reason, "reason");
    this.hold = requireNonNull(until, "until");
  }

  public CompletableFuture<Result> check() {
    if (shuttingDown.getAsBoolean()) {
      return CompletableFuture.completedFuture(new Result(false, "shutting down"));
    }
    CompletableFuture<?> h = hold;
    if (h != null && !h.isDone()) {
      return CompletableFuture.completedFuture(new Result(false, holdReason));
    }
    if (upstreams < 1) {
      return CompletableFuture.completedFuture(new Result(false, "no upstream configured"));
    }
    CompletableFuture<Result> cache =
        CompletableFuture.supplyAsync(this::probeCache, disk)
            .completeOnTimeout(
                new Result(
                    false,
                    "cache dir check took longer than "
                        + CHECK_TIMEOUT.toMillis()
                        + " ms: "
                        + cacheTmp),
                CHECK_TIMEOUT.toMillis(),
                TimeUnit.MILLISECONDS);
    StoreCheck store = sharedStore;
    if (store == null) {
      return cache;
    }
    return cache.thenCompose(
        r ->
            !r.ready()
                ? CompletableFuture.completedFuture(r)
                : CompletableFuture.supplyAsync(() -> probeStore(store), network)
                    .completeOnTimeout(
                        new Result(
                            false,
                            "shared store check took longer than "
                                + STORE_TIMEOUT.toMillis()
                                + " ms"),
                        STORE_TIMEOUT.toMillis(),
                        TimeUnit.MILLISECONDS));
  }

  private static Result probeStore(StoreCheck store) {
    try {
      store.check();
      return Result.READY;
    } catch (IOException | RuntimeException e) {
      return new Result(false, "shared store unreachable: " + e.getMessage());
    }
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
    network.shutdownNow();
  }
}
