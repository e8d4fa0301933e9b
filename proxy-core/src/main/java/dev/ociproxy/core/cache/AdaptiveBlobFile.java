package dev.ociproxy.core.cache;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A blob file written through the page cache until the page cache cannot keep up with the upstream,
 * then with {@code O_DIRECT} for the rest ({@code cache.directWrites: auto}). Where fresh
 * page-cache pages are cheap, a blob stays in memory for its next pull; where they are not (this
 * project's VMs under DAMON page-out: several times the CPU of hashing the same bytes), the
 * download stops paying for them once its queue is full. The switch happens on the writer thread,
 * at the next append or flush after {@link #fallingBehind}.
 */
final class AdaptiveBlobFile implements BlobFile {
  private static final Logger log = LoggerFactory.getLogger(AdaptiveBlobFile.class);

  private final Path path;
  private final StagingBuffers buffers;
  private final Runnable onSwitch;

  /** Read by any thread (durable); replaced only by the writer, under the lock close() takes. */
  private volatile BlobFile current;

  private boolean direct;
  private boolean closed;

  /** Set when the switch failed: this blob goes on through the page cache. */
  private boolean stayBuffered;

  private volatile boolean switchRequested;

  /** A file alone (tests): nobody counts its switch. */
  AdaptiveBlobFile(Path path, StagingBuffers buffers) throws IOException {
    this(path, buffers, () -> {});
  }

  /**
   * @param onSwitch run once the file has gone over to {@code O_DIRECT} (a metric)
   */
  AdaptiveBlobFile(Path path, StagingBuffers buffers, Runnable onSwitch) throws IOException {
    this.onSwitch = onSwitch;
    this.path = path;
    this.buffers = buffers;
    this.current = BufferedBlobFile.create(path);
  }

  /** Whether the rest of the blob goes past the page cache. */
  boolean direct() {
    return direct;
  }

  @Override
  public void fallingBehind() {
    switchRequested = true;
  }

  @Override
  public void append(ByteBuffer src) throws IOException {
    switchIfAsked();
    current.append(src);
  }

  @Override
  public void flush() throws IOException {
    switchIfAsked();
    current.flush();
  }

  @Override
  public void finish() throws IOException {
    current.finish();
  }

  @Override
  public long durable() {
    return current.durable();
  }

  @Override
  public synchronized void close() throws IOException {
    closed = true; // a failure may close the file from another thread while the writer switches
    current.close();
  }

  private void switchIfAsked() throws IOException {
    if (switchRequested && !direct && !stayBuffered) {
      switchNow();
    }
  }

  private synchronized void switchNow() throws IOException {
    if (closed) {
      return;
    }
    BlobFile next;
    try {
      next = DirectBlobFile.resume(path, buffers, current.durable());
    } catch (IOException e) {
      log.debug("{}: going on through the page cache, O_DIRECT failed: {}", path, e.toString());
      stayBuffered = true;
      return;
    }
    BlobFile old = current;
    current = next;
    direct = true;
    onSwitch.run();
    old.close();
  }
}
