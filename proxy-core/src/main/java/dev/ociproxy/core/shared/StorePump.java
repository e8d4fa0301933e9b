package dev.ociproxy.core.shared;

import dev.ociproxy.core.cache.BlobDownload;
import dev.ociproxy.core.upstream.BodyFlow;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.IOException;
import java.io.InputStream;

/**
 * Feeds a blob read from the shared store into a {@link BlobDownload}, as an upstream's body would
 * be: the download hashes every chunk, writes it to a temporary file, lets clients tail it with the
 * last byte held back, and publishes it only if it verifies. Runs on a shared-store thread; pauses
 * when the download's disk writer falls behind (its {@link BodyFlow}), and stops as soon as the
 * download has ended (refused, or every client left).
 */
final class StorePump implements BodyFlow {
  private static final int CHUNK = 64 << 10;

  private final BlobDownload download;
  private boolean paused;

  private StorePump(BlobDownload download) {
    this.download = download;
  }

  /** Streams {@code in} into {@code download} to its end, then closes it. */
  static void run(InputStream in, BlobDownload download) {
    new StorePump(download).pump(in);
  }

  private void pump(InputStream in) {
    download.onStart(this);
    try (in) {
      while (!download.finished().isDone()) {
        awaitResumed();
        ByteBuf buf = PooledByteBufAllocator.DEFAULT.heapBuffer(CHUNK);
        boolean end = false;
        try {
          // Whole chunks: a socket read returns what has arrived, often a few KiB, and each chunk
          // costs a hand-off to the disk writer and a wake-up of every client tailing it.
          while (buf.isWritable() && !end) {
            end = buf.writeBytes(in, buf.writableBytes()) < 0;
          }
          if (buf.isReadable()) {
            download.onChunk(buf); // the sink retains what it keeps
          }
        } finally {
          buf.release();
        }
        if (end) {
          download.onComplete(); // verifies size and digest, then publishes
          return;
        }
      }
    } catch (IOException | RuntimeException e) {
      download.onError(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      download.onError(e);
    }
  }

  private synchronized void awaitResumed() throws InterruptedException {
    while (paused && !download.finished().isDone()) {
      wait(100); // a download that ends while paused is noticed within 0.1 s
    }
  }

  @Override
  public synchronized void pause() {
    paused = true;
  }

  @Override
  public synchronized void resume() {
    paused = false;
    notifyAll();
  }
}
