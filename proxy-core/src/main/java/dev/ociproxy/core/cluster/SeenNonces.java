package dev.ociproxy.core.cluster;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import java.time.Duration;

/**
 * The nonces of the peer requests this replica accepted, each remembered for as long as its header
 * could still pass the time check, so that a captured header is good once. Bounded: when full it
 * refuses new nonces rather than forgetting old ones (forgetting would reopen those to a replay); a
 * refused peer falls back to its upstream, so a flood costs availability of the peer path, never
 * memory or the guarantee. Only MACs that verified reach it, so only a holder of the secret fills
 * it. Thread-safe.
 */
final class SeenNonces {
  /** About 15 MB at most; 830 peer requests a second to one replica, sustained, fill it. */
  static final int MAX = 100_000;

  private final Cache<String, Boolean> seen;
  private final int max;

  SeenNonces(Duration keep) {
    this(keep, MAX, Ticker.systemTicker());
  }

  SeenNonces(Duration keep, int max, Ticker ticker) {
    this.max = max;
    this.seen = Caffeine.newBuilder().expireAfterWrite(keep).ticker(ticker).build();
  }

  /** Whether {@code nonce} is new (it is remembered from now on); false if seen before or full. */
  boolean firstUse(String nonce) {
    if (seen.estimatedSize() >= max) {
      seen.cleanUp(); // drop the expired before deciding it is full
      if (seen.estimatedSize() >= max) {
        return false;
      }
    }
    return seen.asMap().putIfAbsent(nonce, Boolean.TRUE) == null;
  }
}
