package dev.ociproxy.core.shared;

import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * The shared tier's own threads: every call to the store runs here, never on an event loop, since
 * the store is a remote service that may be slow or black-holed. Writes (uploads, records) queue
 * without bound: the request that caused them is answered already. A read has a client waiting, so
 * {@link #call} answers it within {@link #READ_TIMEOUT_SECONDS} whatever the store does.
 * Thread-safe.
 */
final class StoreThreads implements Executor {
  static final long READ_TIMEOUT_SECONDS = 5;

  private final ThreadPoolExecutor pool;
  private final SharedMeters meters;

  StoreThreads(SharedMeters meters) {
    this.meters = meters;
    // Daemon threads that time out when idle: a replica without traffic keeps none.
    this.pool =
        new ThreadPoolExecutor(
            16,
            16,
            60,
            TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(),
            new DefaultThreadFactory("shared-store", true));
    pool.allowCoreThreadTimeOut(true);
  }

  /**
   * Queues {@code task} without a deadline: a write, or a blob read streamed into a download (which
   * stops it once the download has ended). Rejected once {@link #close} began.
   */
  @Override
  public void execute(Runnable task) {
    pool.execute(task);
  }

  interface StoreCall<T> {
    @Nullable T call() throws IOException;
  }

  /**
   * Runs {@code c} on these threads; a failure, or no answer within READ_TIMEOUT_SECONDS (a
   * black-holed bucket, reads queued behind uploads), is answered {@code or}: the request goes on.
   */
  <T> CompletableFuture<T> call(StoreCall<T> c, @Nullable T or) {
    return CompletableFuture.supplyAsync(
            () -> {
              try {
                return c.call();
              } catch (IOException | RuntimeException e) {
                meters.failed("read", "", e);
                return or;
              }
            },
            pool)
        .completeOnTimeout(or, READ_TIMEOUT_SECONDS, TimeUnit.SECONDS);
  }

  /** Lets queued uploads finish for up to 10 s. */
  void close() {
    pool.shutdown();
    try {
      pool.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
