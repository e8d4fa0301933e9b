package dev.ociproxy.core.registry;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.verify.VerificationException;
import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * The digests an upstream's content was refused for lately, and why: for {@link #MEMORY} a blob
 * HEAD of one is answered with the refusal instead of asking the upstream again, until a verified
 * copy arrives. One per upstream (held by its {@link BlobFetcher}); thread-safe.
 */
final class RecentRefusals {
  static final Duration MEMORY = Duration.ofSeconds(30);

  private final Cache<Digest, VerificationException> refused =
      Caffeine.newBuilder()
          .expireAfterWrite(MEMORY)
          .maximumSize(10_000)
          .executor(Runnable::run)
          .build();

  /** Remembers why {@code digest} was refused; returns {@code v}, to throw. */
  VerificationException remember(Digest digest, VerificationException v) {
    refused.put(digest, v);
    return v;
  }

  /** A verified copy arrived: the refusal no longer stands. */
  void forget(Digest digest) {
    refused.invalidate(digest);
  }

  /** The refusal to answer with instead of asking again, or null when none is remembered. */
  @Nullable VerificationException recent(Digest digest) {
    VerificationException lately = refused.getIfPresent(digest);
    return lately == null
        ? null
        : new VerificationException(
            lately.reason(),
            digest,
            "refused less than "
                + MEMORY.toSeconds()
                + " s ago, not asked again: "
                + lately.getMessage());
  }
}
