package dev.ociproxy.core.concurrent;

import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** Helpers for {@link java.util.concurrent.CompletableFuture} chains. */
public final class Futures {
  private Futures() {}

  /**
   * The failure inside a future's wrapping ({@code CompletionException}, {@code
   * ExecutionException}).
   */
  public static Throwable cause(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }
}
