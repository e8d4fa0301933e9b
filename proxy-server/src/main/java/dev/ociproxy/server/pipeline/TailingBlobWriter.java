package dev.ociproxy.server.pipeline;

import dev.ociproxy.core.cache.BlobDownload;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.ssl.SslHandler;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;

/**
 * Sends a blob to one client while its (possibly shared) download is still running: the bytes the
 * download still holds in memory go out as slices of the received buffers, older ones from the file
 * it is writing. It never sends the last byte before the digest has matched: with a known length it
 * holds back the final byte, without one it holds back the terminating chunk. When the download is
 * refused the connection is closed, so the client sees a broken transfer, never a whole success.
 *
 * <p>Runs on the client channel's event loop; writes at most {@link #MAX_PIECE} bytes at a time and
 * waits for the channel to be writable, so a slow client only slows itself (and reads the file once
 * it has fallen behind what the download holds).
 */
final class TailingBlobWriter {
  /** Largest piece sent in one write; bounds what a slow client can pin in the outbound buffer. */
  private static final long MAX_PIECE = 1 << 20;

  private static final int COPY_PIECE = 64 * 1024;

  private final Channel ch;
  private final BlobDownload download;
  private final FileChannel file;
  private final boolean zeroCopy;

  /** How a response ended. */
  enum Outcome {
    /** The verified body went out whole. */
    COMPLETE,
    /** The transfer was cut: refused or broken after the status line, or the client left. */
    ABORTED,
    /** Refused before anything was sent: the caller can still answer with an error. */
    REFUSED_BEFORE_START
  }

  private final CompletableFuture<Outcome> done = new CompletableFuture<>();
  private final HttpResponse head;
  private boolean headSent;
  private final AtomicBoolean scheduled = new AtomicBoolean();
  private final Runnable onProgress = this::schedule;
  private long sent;
  private boolean writing;

  /**
   * Set once the end is being written: a close from here on is the keep-alive handler's, not a
   * failure.
   */
  private boolean ending;

  /**
   * @param head the response head, sent together with the first bytes of the body
   */
  TailingBlobWriter(Channel ch, BlobDownload download, HttpResponse head) throws IOException {
    this.ch = ch;
    this.head = head;
    this.download = download;
    this.file = download.openReader();
    this.zeroCopy = ch.pipeline().get(SslHandler.class) == null;
  }

  /** Starts pumping; completes when the response has ended, one way or the other. */
  CompletableFuture<Outcome> start() {
    download.addReader();
    ch.closeFuture()
        .addListener(
            f -> {
              if (!ending) {
                finish(Outcome.ABORTED);
              }
            });
    download.onProgress(onProgress);
    pump();
    return done;
  }

  private void schedule() {
    if (ch.eventLoop().inEventLoop()) {
      pump(); // the download runs on this client's loop: no hand-off needed
      return;
    }
    if (scheduled.compareAndSet(false, true)) {
      ch.eventLoop()
          .execute(
              () -> {
                scheduled.set(false);
                pump();
              });
    }
  }

  /** Called on writability changes and download progress. */
  void pump() {
    if (done.isDone() || writing) {
      return;
    }
    if (download.failed()) {
      if (!headSent) {
        finish(Outcome.REFUSED_BEFORE_START);
        return;
      }
      // Refused or broken upstream: the client must not take what it got for a whole blob.
      ch.close();
      finish(Outcome.ABORTED);
      return;
    }
    boolean verified = download.finished().isDone();
    long available = download.received();
    long expected = download.expectedLength();
    long allowed = verified || expected < 0 ? available : Math.min(available, expected - 1);
    if (sent < allowed) {
      if (!ch.isWritable()) {
        return; // channelWritabilityChanged calls pump again
      }
      writing = true;
      ChannelFuture f = write(allowed);
      if (f == null) {
        writing = false;
        return; // neither held in memory nor in the file yet: the writer's progress calls again
      }
      if (verified && sent == available) {
        // The verified end: the body's last bytes and its end go out together.
        writeEnd();
        return;
      }
      f.addListener(
          (ChannelFutureListener)
              w -> {
                writing = false;
                if (!w.isSuccess()) {
                  ch.close();
                  finish(Outcome.ABORTED);
                  return;
                }
                pump();
              });
      return;
    }
    if (verified && sent == available) {
      writing = true;
      writeEnd();
    }
  }

  private void writeEnd() {
    ending = true;
    sendHead();
    ch.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT)
        .addListener(
            (ChannelFutureListener)
                f -> finish(f.isSuccess() ? Outcome.COMPLETE : Outcome.ABORTED));
  }

  /** Bytes sent to the client so far. */
  long sent() {
    return sent;
  }

  private void sendHead() {
    if (!headSent) {
      headSent = true;
      ch.write(head);
    }
  }

  /** Writes the next bytes up to {@code allowed}; null when none can be written yet. */
  private @Nullable ChannelFuture write(long allowed) {
    ChannelFuture f = writeReceived(Math.min(allowed - sent, MAX_PIECE));
    if (f != null) {
      return f;
    }
    long count = Math.min(Math.min(allowed, download.written()) - sent, MAX_PIECE);
    return count > 0 ? writeFromFile(count) : null;
  }

  /**
   * Sends up to {@code max} bytes from the download's received buffers; null when it holds none at
   * {@link #sent}.
   */
  private @Nullable ChannelFuture writeReceived(long max) {
    ChannelFuture last = null;
    long left = max;
    ByteBuf slice;
    while (left > 0 && (slice = download.receivedSlice(sent, left)) != null) {
      sendHead();
      int n = slice.readableBytes();
      sent += n;
      left -= n;
      last = ch.write(new DefaultHttpContent(slice));
    }
    if (last != null) {
      ch.flush();
    }
    return last;
  }

  private ChannelFuture writeFromFile(long count) {
    sendHead();
    long position = sent;
    sent += count;
    if (zeroCopy) {
      return ch.writeAndFlush(new SharedFileRegion(file, position, count));
    }
    // TLS needs the bytes in user space; copy through a pooled buffer.
    int n = (int) Math.min(count, COPY_PIECE);
    sent = position + n;
    ByteBuf buf = ch.alloc().directBuffer(n);
    try {
      int read = 0;
      while (read < n) {
        int r = buf.writeBytes(file, position + read, n - read);
        if (r < 0) {
          throw new IOException("unexpected end of file");
        }
        read += r;
      }
    } catch (IOException e) {
      buf.release();
      return ch.newFailedFuture(e);
    }
    return ch.writeAndFlush(new DefaultHttpContent(buf));
  }

  private void finish(Outcome outcome) {
    if (!done.complete(outcome)) {
      return;
    }
    download.removeProgressListener(onProgress);
    download.removeReader();
    try {
      file.close();
    } catch (IOException ignored) {
      // Read-only channel: nothing to lose.
    }
  }
}
