package dev.ociproxy.core.registry;

import dev.ociproxy.core.cache.BlobDownload;
import dev.ociproxy.core.concurrent.Futures;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.upstream.BodyFlow;
import dev.ociproxy.core.upstream.BodySink;
import dev.ociproxy.core.upstream.UpstreamResponse;
import dev.ociproxy.core.upstream.UpstreamTimeoutException;
import dev.ociproxy.core.upstream.UpstreamUnavailableException;
import dev.ociproxy.core.verify.ResumeAnswer;
import dev.ociproxy.core.verify.VerificationException;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaderNames;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The body a cold blob's download reads: the upstream's, passed through, or the owning replica's,
 * continued from the upstream if it breaks off (the owner killed mid-transfer, a reset, a read
 * timeout). Then the upstream is asked for the rest, {@code Range: bytes=N-} after N bytes, and its
 * bytes go on into the same download, hashed into the same digest, so the clients tailing it (and
 * every request joined to it) see one unbroken body. The owner's N bytes are not trusted for that:
 * the download's digest check at the last byte judges the whole, as it would have. Once per body;
 * an answer that is not the rest from N (see {@link ResumeAnswer}) fails the download, as the cut
 * would have. Sink calls come from one connection's event loop at a time, the owner's then the
 * upstream's; the rest is thread-safe.
 */
final class ResumableBody {
  private static final Logger log = LoggerFactory.getLogger(ResumableBody.class);

  /** Asks the upstream for the blob from {@code offset} on. */
  interface Rest {
    CompletableFuture<UpstreamResponse> from(long offset);
  }

  private final @Nullable Rest rest;
  private final RegistryMeters meters;
  private final RepositoryName repo;
  private final Digest digest;
  private final SwitchedFlow flow = new SwitchedFlow();
  private volatile UpstreamResponse current;
  private volatile @Nullable BlobDownload target;
  private volatile boolean stopped;

  /**
   * Bytes handed to the download so far: written on the owner's event loop, read there when its
   * body breaks, and only then on the upstream's (the request for the rest orders the two).
   */
  private long received;

  /** Where the upstream took over, or -1. */
  private volatile long resumedAt = -1;

  /** Body bytes the upstream sent for the rest, skipped ones included. */
  private final AtomicLong upstreamRead = new AtomicLong();

  /**
   * @param rest how to ask the upstream for the rest when {@code first} is a peer's answer; null
   *     when it is the upstream's (its breaks fail the download as they always did)
   */
  ResumableBody(
      UpstreamResponse first,
      @Nullable Rest rest,
      RegistryMeters meters,
      RepositoryName repo,
      Digest digest) {
    this.current = first;
    this.rest = rest;
    this.meters = meters;
    this.repo = repo;
    this.digest = digest;
  }

  /** Streams the body into {@code download}. */
  void stream(BlobDownload download) {
    target = download;
    current.stream(new Part(true, 0));
  }

  /** Stops reading (every client left); no resume follows. */
  void discard() {
    stopped = true;
    current.discard();
  }

  /** Where the upstream took over from the owning replica, or -1 when it did not. */
  long resumedAt() {
    return resumedAt;
  }

  /**
   * Counts an ended download's bytes by where they came from; {@code verified} when it was
   * published.
   */
  void count(long written, boolean verified) {
    long at = resumedAt;
    if (rest == null) {
      meters.received("blob", written);
      if (verified) {
        meters.blobBytes("upstream", written);
      }
    } else if (at < 0) {
      if (verified) {
        meters.blobBytes("peer", written);
      }
    } else {
      meters.received("blob", upstreamRead.get());
      if (verified) {
        meters.blobBytes("peer", Math.min(at, written));
        meters.blobBytes("upstream", written - Math.min(at, written));
      }
    }
  }

  private BlobDownload target() {
    BlobDownload d = target;
    if (d == null) {
      throw new IllegalStateException("not streaming yet");
    }
    return d;
  }

  /** The owner's body broke off: the upstream is asked for the rest, or the download fails. */
  private void broke(Throwable cause) {
    BlobDownload d = target();
    Rest r = rest;
    boolean cut =
        cause instanceof UpstreamUnavailableException || cause instanceof UpstreamTimeoutException;
    if (r == null || !cut || stopped || d.finished().isDone()) {
      d.onError(cause); // a local disk that stalls would stall the upstream's rest as well
      return;
    }
    long offset = received;
    resumedAt = offset;
    meters.peerFallback("body");
    log.info(
        "blob {} of {}/{}: the owning replica's body broke off after {} bytes ({}); asking the"
            + " upstream for the rest (Range: bytes={}-)",
        digest,
        meters.upstream(),
        repo,
        offset,
        cause.getMessage(),
        offset);
    r.from(offset)
        .whenComplete(
            (resp, err) -> {
              if (err != null) {
                d.onError(Futures.cause(err));
              } else {
                continueWith(resp, d, offset);
              }
            });
  }

  private void continueWith(UpstreamResponse resp, BlobDownload d, long offset) {
    current = resp;
    if (stopped) {
      resp.discard();
      return;
    }
    int status = resp.status();
    if (status != 200 && status != 206) {
      resp.drain();
      d.onError(UpstreamErrors.of(resp, OciErrorCode.BLOB_UNKNOWN, "the rest of blob " + digest));
      return;
    }
    long skip;
    try {
      skip =
          ResumeAnswer.skip(
              digest,
              status,
              resp.headers().get(HttpHeaderNames.CONTENT_RANGE),
              resp.contentLength(),
              offset,
              d.expectedLength());
    } catch (VerificationException v) {
      resp.discard();
      d.onError(v);
      return;
    }
    resp.stream(new Part(false, skip));
  }

  /** One response's body: the first one's break may resume, the rest's ends the download. */
  private final class Part implements BodySink {
    private final boolean first;
    private long skip;

    Part(boolean first, long skip) {
      this.first = first;
      this.skip = skip;
    }

    @Override
    public void onStart(BodyFlow f) {
      if (first) {
        target().onStart(flow);
      }
      flow.to(f);
    }

    @Override
    public void onChunk(ByteBuf chunk) {
      int n = chunk.readableBytes();
      ByteBuf bytes = chunk;
      if (!first) {
        upstreamRead.addAndGet(n);
      }
      if (skip > 0) {
        // A 200 to the Range: the owner's first bytes again, not hashed twice.
        int drop = (int) Math.min(skip, n);
        skip -= drop;
        if (drop == n) {
          return;
        }
        bytes = chunk.slice(chunk.readerIndex() + drop, n - drop);
      }
      received += bytes.readableBytes();
      target().onChunk(bytes);
    }

    @Override
    public void onComplete() {
      target().onComplete();
    }

    @Override
    public void onError(Throwable cause) {
      if (first) {
        broke(cause);
      } else {
        target().onError(cause);
      }
    }
  }

  /**
   * The download's way to pause reading, applied to whichever response is being read: the owner's,
   * then the upstream's, which starts paused if the download's disk had paused the owner's.
   */
  private static final class SwitchedFlow implements BodyFlow {
    private @Nullable BodyFlow current;
    private boolean paused;

    synchronized void to(BodyFlow next) {
      current = next;
      if (paused) {
        next.pause();
      }
    }

    @Override
    public synchronized void pause() {
      paused = true;
      BodyFlow f = current;
      if (f != null) {
        f.pause();
      }
    }

    @Override
    public synchronized void resume() {
      paused = false;
      BodyFlow f = current;
      if (f != null) {
        f.resume();
      }
    }
  }
}
