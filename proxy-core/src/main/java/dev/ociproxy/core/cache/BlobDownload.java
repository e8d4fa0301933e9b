package dev.ociproxy.core.cache;

import static java.util.Objects.requireNonNull;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.upstream.BodySink;
import dev.ociproxy.core.verify.DigestingSink;
import dev.ociproxy.core.verify.VerificationException;
import io.netty.buffer.ByteBuf;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * One upstream blob download in progress: it writes to a temporary file, and every client response
 * tails that file. Bytes up to {@link #written()} may be read at any time; the end of the body is
 * only confirmed by {@link #finished()} completing, after the digest has matched and the file has
 * been published.
 *
 * <p>The digest is computed from the file, on a hashing thread that follows the writer. Hashing and
 * receiving then run on two cores instead of one (SHA-256 is about half the work of a cold pull),
 * the hash covers exactly the bytes readers are served and that get published, and since the file
 * is the buffer between the two, no network buffer is held while the hasher catches up.
 *
 * <p>Thread-safe: the sink methods run on the upstream event loop, hashing and publication on the
 * hashing executor, readers call the rest from anywhere.
 */
public final class BlobDownload implements BodySink {
  /** Shared by every download; each download runs at most one hashing task at a time. */
  private static final Executor HASHERS =
      Executors.newFixedThreadPool(
          Runtime.getRuntime().availableProcessors(), new DefaultThreadFactory("blob-hash", true));

  private static final ThreadLocal<ByteBuffer> HASH_BUFFER =
      ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(256 * 1024));

  private final Digest digest;
  private final ContentStore store;
  private final Path temp;
  private final DigestingSink hash;
  private final long expectedLength;
  private final FileChannel out;
  private final FileChannel hashReader;
  private final Executor hashing;
  private final AtomicBoolean hashScheduled = new AtomicBoolean();
  private final Consumer<BlobDownload> onDone;
  private final CopyOnWriteArrayList<Runnable> listeners = new CopyOnWriteArrayList<>();
  private final CompletableFuture<Path> finished = new CompletableFuture<>();
  private volatile long written;
  /** Set once the upstream body has ended whole; {@link #written} is final from then on. */
  private volatile boolean received;
  /** Bytes hashed so far; touched by the hashing task only. */
  private long hashed;
  private final java.util.concurrent.atomic.AtomicInteger readers = new java.util.concurrent.atomic.AtomicInteger();
  private volatile Runnable onAbandoned;

  /**
   * @param expectedLength the upstream's declared length, or -1 when it sent none
   * @param onDone called once, after publication or failure (to leave the in-flight table)
   */
  public BlobDownload(Digest digest, ContentStore store, long expectedLength, Consumer<BlobDownload> onDone)
      throws IOException {
    this(digest, store, expectedLength, onDone, HASHERS);
  }

  /** @param hashing where the hash follows the file ({@code Runnable::run}: inline, for tests) */
  BlobDownload(Digest digest, ContentStore store, long expectedLength, Consumer<BlobDownload> onDone,
      Executor hashing) throws IOException {
    this.digest = requireNonNull(digest, "digest");
    this.store = store;
    this.temp = store.newTempFile();
    this.hash = new DigestingSink(digest);
    this.expectedLength = expectedLength;
    this.onDone = onDone;
    this.hashing = hashing;
    this.out =
        FileChannel.open(
            temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, StandardOpenOption.READ);
    try {
      this.hashReader = FileChannel.open(temp, StandardOpenOption.READ);
    } catch (IOException e) {
      closeQuietly(out);
      ContentStore.deleteQuietly(temp);
      throw e;
    }
  }

  public Digest digest() {
    return digest;
  }

  /** The upstream's declared length, or -1 when unknown (chunked). */
  public long expectedLength() {
    return expectedLength;
  }

  /** Bytes written to the temporary file so far; readable by {@link #openReader}. */
  public long written() {
    return written;
  }

  /** Completes with the published path once verified; exceptionally when refused or broken. */
  public CompletableFuture<Path> finished() {
    return finished;
  }

  /**
   * Opens the file being written for reading. The channel stays valid after the file is renamed
   * into the store or deleted on failure.
   */
  public FileChannel openReader() throws IOException {
    try {
      return FileChannel.open(temp, StandardOpenOption.READ);
    } catch (java.nio.file.NoSuchFileException e) {
      // Renamed into the store since (publication happens only after verification, and may
      // precede the completion of finished()), or deleted after a failure.
      return FileChannel.open(store.blobPath(digest), StandardOpenOption.READ);
    }
  }

  /** True when the download ended in failure; a new request should start a fresh fetch. */
  public boolean failed() {
    return finished.isCompletedExceptionally();
  }

  /** Sets what to do when the last client reading this download leaves before it finished. */
  public void onAbandoned(Runnable action) {
    this.onAbandoned = action;
  }

  /** A client started reading. */
  public void addReader() {
    readers.incrementAndGet();
  }

  /** A client stopped reading (done or gone); the last one leaving may stop the download. */
  public void removeReader() {
    Runnable action = onAbandoned;
    if (readers.decrementAndGet() == 0 && action != null && !finished.isDone()) {
      action.run();
    }
  }

  /** Registers a callback run (on the upstream event loop) after every write and at the end. */
  public void onProgress(Runnable listener) {
    listeners.add(listener);
    if (finished.isDone()) {
      listener.run();
    }
  }

  public void removeProgressListener(Runnable listener) {
    listeners.remove(listener);
  }

  @Override
  public void onChunk(ByteBuf chunk) {
    if (finished.isDone()) {
      return;
    }
    int n = chunk.readableBytes();
    if (expectedLength >= 0 && written + n > expectedLength) {
      fail(
          new VerificationException(
              VerificationException.Reason.SIZE_MISMATCH,
              digest,
              "more bytes than the declared " + expectedLength));
      return;
    }
    try {
      long pos = written;
      for (ByteBuffer b : chunk.nioBuffers(chunk.readerIndex(), n)) {
        while (b.hasRemaining()) {
          pos += out.write(b, pos);
        }
      }
    } catch (IOException e) {
      fail(e);
      return;
    }
    written += n;
    scheduleHashing();
    notifyListeners();
  }

  @Override
  public void onComplete() {
    if (finished.isDone()) {
      return;
    }
    if (expectedLength >= 0 && written != expectedLength) {
      fail(new VerificationException(
          VerificationException.Reason.TRUNCATED,
          digest,
          "got " + written + " bytes, want " + expectedLength));
      return;
    }
    try {
      out.close();
    } catch (IOException e) {
      fail(e);
      return;
    }
    received = true;
    scheduleHashing();
  }

  @Override
  public void onError(Throwable cause) {
    fail(cause);
  }

  private void scheduleHashing() {
    if (hashScheduled.compareAndSet(false, true)) {
      try {
        hashing.execute(this::hashWhatIsWritten);
      } catch (RuntimeException e) { // a rejected task: never leave readers waiting
        hashScheduled.set(false);
        fail(e);
      }
    }
  }

  /** The hashing task: catches up with the writer, and verifies and publishes at the end. */
  private void hashWhatIsWritten() {
    while (true) {
      try {
        boolean end = received; // read before written: once set, written is final
        long target = written;
        ByteBuffer buf = HASH_BUFFER.get();
        while (hashed < target && !finished.isDone()) {
          buf.clear().limit((int) Math.min(buf.capacity(), target - hashed));
          int r = hashReader.read(buf, hashed);
          if (r < 0) {
            throw new IOException("temporary file shorter than written: " + temp);
          }
          buf.flip();
          hash.update(buf);
          hashed += r;
        }
        if (end && hashed == target) {
          publishVerified();
          return;
        }
      } catch (IOException | RuntimeException e) {
        fail(e);
        return;
      }
      hashScheduled.set(false);
      // Written to between the catch-up and the flag reset: run again, unless another task does.
      if (finished.isDone() || (hashed == written && !received) || !hashScheduled.compareAndSet(false, true)) {
        return;
      }
    }
  }

  private void publishVerified() throws IOException {
    hash.verify();
    Path target = store.blobPath(digest);
    synchronized (this) {
      if (finished.isDone()) {
        return; // failed meanwhile (a reader-less abort): the file is gone
      }
      hashReader.close();
      store.publish(temp, target);
      finished.complete(target);
    }
    onDone.accept(this);
    notifyListeners();
  }

  /** Refuses the download: nothing is stored, every reader is told. */
  public void fail(Throwable cause) {
    synchronized (this) {
      if (finished.isDone()) {
        return;
      }
      closeQuietly(out);
      closeQuietly(hashReader);
      ContentStore.deleteQuietly(temp); // before anyone can see the failure and look
      finished.completeExceptionally(cause);
    }
    onDone.accept(this);
    notifyListeners();
  }

  private static void closeQuietly(FileChannel ch) {
    try {
      ch.close();
    } catch (IOException ignored) {
      // The file is deleted or published anyway.
    }
  }

  private void notifyListeners() {
    for (Runnable r : listeners) {
      r.run();
    }
  }

  /** The length to verify reads against: the declared one, or what was written once finished. */
  public long knownLength() {
    if (expectedLength >= 0) {
      return expectedLength;
    }
    return finished.isDone() && !finished.isCompletedExceptionally() ? written : -1;
  }
}
