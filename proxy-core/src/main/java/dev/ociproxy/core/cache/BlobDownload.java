package dev.ociproxy.core.cache;

import static java.util.Objects.requireNonNull;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.upstream.BodyFlow;
import dev.ociproxy.core.upstream.BodySink;
import dev.ociproxy.core.verify.DigestingSink;
import dev.ociproxy.core.verify.VerificationException;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * One upstream blob download in progress: it hashes on the upstream event loop, writes to a
 * temporary file on a writer thread ({@link DiskAppender}), and keeps the latest received buffers
 * in memory ({@link ReceivedWindow}). Every client response follows it: bytes up to {@link
 * #received()} may be read at any time, from {@link #receivedSlice} while they are held and from
 * the file ({@link #openReader}, up to {@link #written()}) after that. The end of the body is only
 * confirmed by {@link #finished()} completing, after the digest has matched and the file has been
 * published. Thread-safe: the sink methods run on the upstream event loop, readers call the rest
 * from anywhere.
 */
public final class BlobDownload implements BodySink {
  private final Digest digest;
  private final ContentStore store;
  private final Path temp;
  private final DigestingSink hash;
  private final long expectedLength;
  private final BlobFile out;
  private final DiskAppender disk;
  private final ReceivedWindow window;
  private final Consumer<BlobDownload> onDone;
  private volatile boolean published;
  private final CopyOnWriteArrayList<Runnable> listeners = new CopyOnWriteArrayList<>();
  private final CompletableFuture<Path> finished = new CompletableFuture<>();
  private final AtomicInteger readers = new AtomicInteger();
  private volatile @Nullable Runnable onAbandoned;

  /** Set by whichever of publication and failure comes first; the other then does nothing. */
  private final AtomicBoolean ended = new AtomicBoolean();

  /** A download that writes on the calling thread (tests, tools). */
  public BlobDownload(
      Digest digest, ContentStore store, long expectedLength, Consumer<BlobDownload> onDone)
      throws IOException {
    this(digest, store, expectedLength, onDone, Runnable::run);
  }

  /**
   * @param expectedLength the upstream's declared length, or -1 when it sent none
   * @param onDone called once, after publication or failure but before {@link #finished()}
   *     completes, so whatever it releases (the in-flight entry, the fetch slot) is released before
   *     any client can see the end of the body
   * @param writer runs the file writes, in order (see {@link ContentStore#writerFor})
   */
  public BlobDownload(
      Digest digest,
      ContentStore store,
      long expectedLength,
      Consumer<BlobDownload> onDone,
      Executor writer)
      throws IOException {
    this.digest = requireNonNull(digest, "digest");
    this.store = store;
    this.temp = store.newTempFile(expectedLength);
    this.hash = new DigestingSink(digest, expectedLength);
    this.window = store.newReceivedWindow();
    this.expectedLength = expectedLength;
    this.onDone = onDone;
    this.out = store.newBlobFile(temp, expectedLength);
    this.disk = new DiskAppender(out, writer, store.writeBudget(), this::diskProgress, this::fail);
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
    return disk.written();
  }

  /** Bytes received from the upstream so far (hashed, not necessarily written). */
  public long received() {
    return window.end();
  }

  /**
   * A retained slice of at most {@code max} received bytes starting at {@code position}, straight
   * from the received buffers; null when they are no longer held in memory (read them from the
   * file) or not received yet. The caller releases it.
   */
  public @Nullable ByteBuf receivedSlice(long position, long max) {
    return window.slice(position, max);
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
    if (published) { // a small blob is published before its first reader looks: no failed open
      return FileChannel.open(store.blobPath(digest), StandardOpenOption.READ);
    }
    try {
      return FileChannel.open(temp, StandardOpenOption.READ);
    } catch (java.nio.file.NoSuchFileException e) {
      // Renamed into the store since (publication happens only after verification, and may
      // precede the completion of finished()), or deleted after a failure.
      return FileChannel.open(store.blobPath(digest), StandardOpenOption.READ);
    }
  }

  /** True once the verified file is in the store (already when {@code onDone} runs). */
  public boolean published() {
    return published;
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
    if (readers.decrementAndGet() == 0 && action != null && !ended.get()) {
      action.run();
    }
  }

  /**
   * Registers a callback run after every received chunk (on the upstream event loop), after every
   * write (on the writer) and at the end.
   */
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
  public void onStart(BodyFlow flow) {
    disk.flow(flow);
  }

  @Override
  public void onChunk(ByteBuf chunk) {
    if (ended.get()) {
      return;
    }
    try {
      hash.update(chunk); // refuses a byte past the declared length before anyone sees it
    } catch (VerificationException e) {
      fail(e);
      return;
    }
    window.add(chunk);
    disk.append(chunk);
    notifyListeners();
  }

  /** On the writer, after bytes reached the file. */
  private void diskProgress() {
    window.trim(disk.written());
    notifyListeners();
  }

  @Override
  public void onComplete() {
    if (ended.get()) {
      return;
    }
    try {
      hash.verify(); // the declared length, then the digest
    } catch (RuntimeException e) {
      fail(e);
      return;
    }
    disk.then(this::publish); // verified: publish once the last bytes are on disk
  }

  /** On the writer thread, after every byte is written. */
  private void publish() {
    Path target = store.blobPath(digest);
    try {
      out.finish();
      out.close();
      window.close(); // every byte is in the file now
      store.publish(temp, target);
    } catch (IOException | RuntimeException e) {
      fail(e);
      return;
    }
    if (!ended.compareAndSet(false, true)) {
      return; // failed meanwhile (every client left): the published file is verified all the same
    }
    published = true;
    onDone.accept(this);
    finished.complete(target);
    notifyListeners();
  }

  @Override
  public void onError(Throwable cause) {
    fail(cause);
  }

  /** Refuses the download: nothing is stored, every reader is told. */
  public void fail(Throwable cause) {
    if (!ended.compareAndSet(false, true)) {
      return;
    }
    disk.discard();
    window.close();
    try {
      out.close();
    } catch (IOException ignored) {
      // The file is deleted next anyway.
    }
    ContentStore.deleteQuietly(temp);
    onDone.accept(this);
    finished.completeExceptionally(cause);
    notifyListeners();
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
    return finished.isDone() && !finished.isCompletedExceptionally() ? written() : -1;
  }
}
