package dev.ociproxy.core.shared;

import com.github.benmanes.caffeine.cache.Cache;
import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.oci.Digest;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.jspecify.annotations.Nullable;

/**
 * Which stored blobs a client may be sent to fetch from the bucket itself ({@code
 * storage.s3.redirect}), with the presigned GET that sends it there. Only a blob this replica knows
 * the bucket holds whole and verified qualifies: uploaded from here after it verified, or found
 * there at the size of the copy verified here (the replicas upload only what they verified: the
 * trust the README's trade-off names). A blob not known yet is looked for in the background, at
 * most once a minute, and the request that asked is answered without a redirect: no client waits on
 * the store for it. A stored copy that was refused is forgotten at once. Thread-safe; nothing here
 * blocks on the network.
 *
 * <p>A URL is handed out again for up to {@link #REUSE} (so it has 4 to 5 minutes left when a
 * client gets it): presigning costs the SDK CPU on the event loop that answers (measured in
 * BlobRedirectsTest), and a warm pull asks for the same few blobs over and over.
 */
public final class BlobRedirects {
  /**
   * How long a presigned URL lets its holder GET the blob. A client follows a redirect at once, so
   * minutes cover a queue of layers and clock skew between the proxy and the store; anyone who
   * copies the URL from a log or a proxy can fetch that one blob until then, so no longer.
   */
  public static final Duration EXPIRY = Duration.ofMinutes(5);

  static final Duration REUSE = Duration.ofMinutes(1);

  private final ObjectStore objects;
  private final ContentStore local;
  private final Executor io;
  private final SharedMeters meters;

  /**
   * Blobs the bucket holds verified. Forgotten after an hour (as the store's other memory), so a
   * blob removed by retention meanwhile is served directly again, not redirected to a 404.
   */
  private final Cache<Digest, Boolean> committed =
      SharedStore.expiring(200_000, Duration.ofHours(1));

  /** Blobs looked for in the bucket lately: one HEAD a minute at most, however many clients ask. */
  private final Cache<Digest, Boolean> asked = SharedStore.expiring(10_000, Duration.ofMinutes(1));

  /**
   * Blobs whose stored copy was refused lately: a size that matches says nothing about them until
   * our own verified upload has replaced it.
   */
  private final Cache<Digest, Boolean> refused =
      SharedStore.expiring(10_000, SharedStore.REFUSAL_MEMORY);

  /** The URLs handed out lately, by blob. */
  private final Cache<Digest, URI> urls = SharedStore.expiring(10_000, REUSE);

  BlobRedirects(ObjectStore objects, ContentStore local, Executor io, SharedMeters meters) {
    this.objects = objects;
    this.local = local;
    this.io = io;
    this.meters = meters;
  }

  /**
   * A presigned GET of the stored blob {@code d}, valid for {@link #EXPIRY}, when the bucket is
   * known to hold it verified; null when it is not known yet (it is looked for, for the next
   * request) or the store hands out no URLs. The caller has checked that this client may have the
   * blob from this replica.
   */
  public @Nullable URI location(Digest d) {
    if (committed.getIfPresent(d) == null) {
      if (objects.presigns()) {
        lookFor(d);
      }
      return null;
    }
    URI url = urls.getIfPresent(d);
    if (url == null) {
      url = objects.presignedGet(SharedKeys.blob(d), EXPIRY);
      if (url != null) {
        urls.put(d, url);
      }
    }
    return url;
  }

  /** Our verified copy of {@code d} is in the bucket now (uploaded, or found there at its size). */
  void committed(Digest d) {
    if (objects.presigns()) { // else nothing asks: remember nothing
      refused.invalidate(d);
      committed.put(d, Boolean.TRUE);
    }
  }

  /** The bucket's copy of {@code d} did not verify: no client is sent to it. */
  void refused(Digest d) {
    refused.put(d, Boolean.TRUE);
    committed.invalidate(d);
    urls.invalidate(d);
  }

  /**
   * Compares the bucket's size of {@code d} with the copy verified here, off the caller's thread.
   * Without a local copy there is nothing to compare: the blob is read back (and verified) first.
   */
  private void lookFor(Digest d) {
    long mine = local.blobSize(d);
    if (mine < 0 || asked.getIfPresent(d) != null || refused.getIfPresent(d) != null) {
      return;
    }
    asked.put(d, Boolean.TRUE);
    String key = SharedKeys.blob(d);
    try {
      io.execute(
          () -> {
            try {
              if (objects.size(key) == mine && refused.getIfPresent(d) == null) {
                committed.put(d, Boolean.TRUE);
              }
            } catch (IOException | RuntimeException e) {
              meters.failed("read", objects.describe(key), e);
            }
          });
    } catch (RejectedExecutionException e) {
      // Shutting down: no more redirects are needed.
    }
  }
}
