package dev.ociproxy.core.concurrent;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * One computation per key at a time: whoever asks for a key while its computation runs joins it
 * instead of starting another. A flight ends when its future completes or, for a value that goes on
 * working after it is handed out (a download that readers tail), when the computation says so. A
 * failed flight is never joined, and neither is a value {@code joinable} refuses (a download that
 * broke after it started): the next caller starts afresh. The key is free again before the flight's
 * callers see its end, so their next request starts a new flight. Thread-safe.
 *
 * @param <K> what identifies a computation
 * @param <V> its result
 */
public final class SingleFlight<K, V> {
  private final ConcurrentMap<K, CompletableFuture<V>> flights = new ConcurrentHashMap<>();
  private final Predicate<? super V> joinable;
  private final Runnable onJoin;

  /**
   * @param joinable whether a running flight's value may still be joined
   * @param onJoin told of every join (for a counter), on the joining thread
   */
  public SingleFlight(Predicate<? super V> joinable, Runnable onJoin) {
    this.joinable = joinable;
    this.onJoin = onJoin;
  }

  /** Flights whose values are always joinable; joins go untold. */
  public static <K, V> SingleFlight<K, V> create() {
    return new SingleFlight<>(v -> true, () -> {});
  }

  /** Flights running now. */
  public int size() {
    return flights.size();
  }

  /** The running flight for {@code key}, or null. */
  public @Nullable CompletableFuture<V> running(K key) {
    return flights.get(key);
  }

  /**
   * Joins the flight for {@code key}, or starts one with {@code start}; it ends with its future.
   */
  public CompletableFuture<V> run(K key, Supplier<CompletableFuture<V>> start) {
    return run(key, end -> start.get(), true);
  }

  /**
   * Joins the flight for {@code key}, or starts one: {@code start} gets the action that ends the
   * flight and must run it once its value stops being joinable. A failed start ends it at once.
   */
  public CompletableFuture<V> runUntilEnded(K key, Function<Runnable, CompletableFuture<V>> start) {
    return run(key, start, false);
  }

  private CompletableFuture<V> run(
      K key, Function<Runnable, CompletableFuture<V>> start, boolean endOnSuccess) {
    while (true) {
      CompletableFuture<V> mine = new CompletableFuture<>();
      CompletableFuture<V> existing = flights.putIfAbsent(key, mine);
      if (existing == null) {
        launch(key, mine, start, endOnSuccess);
        return mine;
      }
      if (existing.isCompletedExceptionally()
          || (existing.isDone() && !joinable.test(existing.join()))) {
        flights.remove(key, existing); // never joined: start afresh
        continue;
      }
      onJoin.run();
      return existing;
    }
  }

  private void launch(
      K key,
      CompletableFuture<V> mine,
      Function<Runnable, CompletableFuture<V>> start,
      boolean endOnSuccess) {
    Runnable end = () -> flights.remove(key, mine);
    CompletableFuture<V> f;
    try {
      f = start.apply(end);
    } catch (RuntimeException e) {
      f = CompletableFuture.failedFuture(e);
    }
    f.whenComplete(
        (v, err) -> {
          if (err != null || endOnSuccess) {
            end.run();
          }
          if (err != null) {
            mine.completeExceptionally(Futures.cause(err));
          } else {
            mine.complete(v);
          }
        });
  }
}
