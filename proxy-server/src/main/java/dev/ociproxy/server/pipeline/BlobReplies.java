package dev.ociproxy.server.pipeline;

import dev.ociproxy.core.cache.BlobDownload;
import dev.ociproxy.core.concurrent.Futures;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.registry.BlobSource;
import io.netty.channel.ChannelFuture;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import java.io.IOException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers a blob {@code GET} on one connection: a cached blob (or a range of one) from its file, a
 * download in progress by tailing it ({@link TailingBlobWriter}), whose last byte goes out only
 * once the digest matched, or a redirect to the shared store's verified copy ({@link
 * StoreRedirects}, logged {@code cache=redirect}). Holds the running writer so the channel's
 * writability can pump it. One per channel; event loop only.
 */
final class BlobReplies {
  private static final Logger log = LoggerFactory.getLogger(BlobReplies.class);

  private final Replies replies;
  private @Nullable TailingBlobWriter tail;

  BlobReplies(Replies replies) {
    this.replies = replies;
  }

  void send(HttpRequest req, Digest digest, BlobSource source) {
    if (source instanceof BlobSource.Redirect r) {
      replies.entry().cache("redirect");
      replies.send(StoreRedirects.response(digest, r.location()));
      return;
    }
    String range = req.headers().get(HttpHeaderNames.RANGE);
    if (source instanceof BlobSource.Cached c) {
      replies.entry().cache("hit");
      sendCached(digest, c, range);
      return;
    }
    BlobSource.Downloading d = (BlobSource.Downloading) source;
    BlobDownload download = d.download();
    replies.entry().cache("miss");
    if (range != null) {
      // Ranges are served from verified content only: wait for the download to be published.
      replies.whenComplete(
          download.finished(),
          false,
          path -> {
            BlobSource.Cached c = d.published();
            if (c == null) {
              throw new RegistryException(OciErrorCode.BLOB_UNKNOWN, 404, "blob evicted, retry");
            }
            sendCached(digest, c, range);
          });
      return;
    }
    if (download.failed()) {
      // Refused before we said anything: a clean error beats a broken transfer.
      replies.sendError(failureOf(download), false);
      return;
    }
    TailingBlobWriter writer;
    try {
      writer =
          new TailingBlobWriter(
              replies.ctx().channel(),
              download,
              BlobResponses.streamingHead(digest, download.expectedLength()));
    } catch (IOException e) {
      if (download.failed()) {
        replies.sendError(failureOf(download), false);
      } else {
        log.warn("cannot read download of {}: {}", digest, e.toString());
        replies.ctx().close();
      }
      return;
    }
    tail = writer;
    // The access log sees what the writer sends and how it ends; a cut transfer closes the channel.
    writer
        .start()
        .whenComplete(
            (outcome, err) -> {
              tail = null;
              if (outcome == TailingBlobWriter.Outcome.COMPLETE) {
                replies.readNextRequest();
              } else if (outcome == TailingBlobWriter.Outcome.REFUSED_BEFORE_START) {
                replies.sendError(failureOf(download), false);
              }
            });
  }

  /** The channel can take more: the running writer, if any, sends on. */
  void pump() {
    TailingBlobWriter t = tail;
    if (t != null) {
      t.pump();
    }
  }

  private void sendCached(Digest digest, BlobSource.Cached c, @Nullable String range) {
    ChannelFuture last;
    try {
      last = BlobResponses.sendFile(replies.ctx(), digest, c.path(), c.size(), range);
    } catch (RuntimeException e) {
      c.lease().close();
      throw e;
    }
    last.addListener(f -> c.lease().close());
    replies.whenSent(last);
  }

  private static Throwable failureOf(BlobDownload d) {
    return Futures.cause(d.finished().handle((path, err) -> err).join());
  }
}
