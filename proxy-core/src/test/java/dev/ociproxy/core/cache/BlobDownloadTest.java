package dev.ociproxy.core.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.verify.VerificationException;
import dev.ociproxy.core.verify.VerificationException.Reason;
import dev.ociproxy.testing.NoLeakedBuffers;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(NoLeakedBuffers.class)
class BlobDownloadTest {
  private static final byte[] CONTENT = content(50_000);
  private static final Digest DIGEST = Digest.sha256(CONTENT);

  @TempDir Path root;
  private ContentStore store;
  private final List<BlobDownload> done = new ArrayList<>();

  /** Every chunk {@link #feed} handed to a download. */
  private final List<ByteBuf> fed = new ArrayList<>();

  @BeforeEach
  void openStore() {
    store = new ContentStore(root).open();
  }

  /** A download that ended gave back every reference it took on the chunks it was handed. */
  @AfterEach
  void everyFedChunkIsReleasedOnceItsDownloadEnded() {
    assertThat(fed).allSatisfy(c -> assertThat(c.refCnt()).as("references left").isZero());
  }

  @Test
  void matchingContentIsPublishedToTheStorePath() throws Exception {
    BlobDownload d = download(CONTENT.length);

    feed(d, CONTENT, 4096);
    d.onComplete();

    Path published = d.finished().join();
    assertThat(published).isEqualTo(store.blobPath(DIGEST)).hasBinaryContent(CONTENT);
    assertThat(d.failed()).isFalse();
    assertThat(d.written()).isEqualTo(CONTENT.length);
    assertThat(store.blobSize(DIGEST)).isEqualTo(CONTENT.length);
    assertThat(root.resolve("tmp")).isEmptyDirectory();
    assertThat(done).containsExactly(d);
  }

  @Test
  void contentWithoutDeclaredLengthIsPublishedWhenItMatches() {
    BlobDownload d = download(-1);

    feed(d, CONTENT, 10_000);
    assertThat(d.knownLength()).isEqualTo(-1);
    d.onComplete();

    assertThat(d.finished().join()).hasBinaryContent(CONTENT);
    assertThat(d.knownLength()).isEqualTo(CONTENT.length);
  }

  @Test
  void flippedByteFailsDeletesTheTemporaryFileAndStoresNothing() throws IOException {
    byte[] tampered = CONTENT.clone();
    tampered[CONTENT.length / 2] ^= 0x40;
    BlobDownload d = download(CONTENT.length);

    feed(d, tampered, 4096);
    assertThat(root.resolve("tmp")).isNotEmptyDirectory();
    d.onComplete();

    assertFailedWith(d, Reason.DIGEST_MISMATCH);
    assertNothingStored();
    assertThat(done).containsExactly(d);
  }

  @Test
  void moreBytesThanDeclaredFailsAsSizeMismatch() throws IOException {
    BlobDownload d = download(CONTENT.length - 10);

    feed(d, CONTENT, 4096);

    assertFailedWith(d, Reason.SIZE_MISMATCH);
    assertThat(d.written()).isLessThanOrEqualTo(CONTENT.length - 10);
    d.onComplete(); // a late end of stream changes nothing
    assertFailedWith(d, Reason.SIZE_MISMATCH);
    assertNothingStored();
    assertThat(done).containsExactly(d);
  }

  @Test
  void endOfStreamBeforeTheDeclaredLengthFailsAsTruncated() throws IOException {
    BlobDownload d = download(CONTENT.length);

    feed(d, java.util.Arrays.copyOf(CONTENT, CONTENT.length - 1), 4096);
    d.onComplete();

    assertFailedWith(d, Reason.TRUNCATED);
    assertNothingStored();
  }

  @Test
  void upstreamErrorFailsTheDownloadAndStoresNothing() throws IOException {
    BlobDownload d = download(CONTENT.length);
    feed(d, java.util.Arrays.copyOf(CONTENT, 1000), 1000);
    IOException reset = new IOException("connection reset");

    d.onError(reset);

    assertThat(d.failed()).isTrue();
    assertThat(d.finished()).isCompletedExceptionally();
    assertThat(unwrap(d)).isSameAs(reset);
    assertNothingStored();
    assertThat(done).containsExactly(d);
  }

  @Test
  void chunksAfterFailureAreIgnored() throws IOException {
    BlobDownload d = download(CONTENT.length);
    d.onError(new IOException("gone"));

    feed(d, CONTENT, 4096);

    assertThat(d.written()).isZero();
    assertNothingStored();
  }

  @Test
  void progressListenersRunAfterEveryReceivedChunkEveryWriteAndAtTheEnd() throws IOException {
    DiskAppenderTest.ManualExecutor disk = new DiskAppenderTest.ManualExecutor();
    BlobDownload d = new BlobDownload(DIGEST, store, CONTENT.length, done::add, disk);
    AtomicInteger calls = new AtomicInteger();
    d.onProgress(calls::incrementAndGet);

    feed(d, CONTENT, 10_000); // five chunks
    assertThat(calls).as("received").hasValue(5);
    disk.runAll();
    assertThat(calls).as("and written").hasValue(10);
    d.onComplete();
    disk.runAll();

    assertThat(calls).as("and published").hasValue(11);
  }

  @Test
  void progressListenersAreToldAboutFailure() {
    BlobDownload d = download(CONTENT.length);
    List<Boolean> seenFailed = new ArrayList<>();
    d.onProgress(() -> seenFailed.add(d.failed()));

    d.onError(new IOException("gone"));

    assertThat(seenFailed).containsExactly(true);
  }

  @Test
  void listenerAddedAfterTheEndRunsAtOnce() {
    BlobDownload d = download(CONTENT.length);
    feed(d, CONTENT, CONTENT.length);
    d.onComplete();
    AtomicInteger calls = new AtomicInteger();

    d.onProgress(calls::incrementAndGet);

    assertThat(calls).hasValue(1);
  }

  @Test
  void removedListenerIsNoLongerCalled() {
    BlobDownload d = download(CONTENT.length);
    AtomicInteger calls = new AtomicInteger();
    Runnable listener = calls::incrementAndGet;
    d.onProgress(listener);
    d.removeProgressListener(listener);

    feed(d, CONTENT, 4096);
    d.onComplete();

    assertThat(d.finished()).isCompleted();
    assertThat(calls).hasValue(0);
  }

  @Test
  void readerSeesWrittenBytesWhileDownloadingAndAfterPublication() throws IOException {
    BlobDownload d = download(CONTENT.length);
    feed(d, java.util.Arrays.copyOf(CONTENT, 20_000), 20_000);

    try (FileChannel early = d.openReader()) {
      ByteBuffer head = ByteBuffer.allocate(20_000);
      while (head.hasRemaining() && early.read(head, head.position()) > 0) {
        // read until full
      }
      assertThat(head.array()).isEqualTo(java.util.Arrays.copyOf(CONTENT, 20_000));

      feed(d, java.util.Arrays.copyOfRange(CONTENT, 20_000, CONTENT.length), 30_000);
      d.onComplete();
      assertThat(d.finished()).isCompleted();
      assertThat(early.size()).isEqualTo(CONTENT.length); // still valid after the rename
    }
    try (FileChannel late = d.openReader()) {
      assertThat(late.size()).isEqualTo(CONTENT.length);
    }
  }

  @Test
  void chunkIsNotReleasedOrMovedByTheDownload() {
    BlobDownload d = download(CONTENT.length);
    ByteBuf chunk = Unpooled.directBuffer().writeBytes(CONTENT, 0, 100);
    try {
      d.onChunk(chunk);
      assertThat(chunk.readerIndex()).isZero();
      d.fail(new IOException("upstream reset"));

      assertThat(chunk.refCnt()).as("every reference the download took is given back").isEqualTo(1);
      assertThat(chunk.readerIndex()).isZero();
    } finally {
      chunk.release();
    }
  }

  @Test
  void verifiedDownloadIsPublishedOnlyAfterItsLastWriteReachesTheDisk() throws IOException {
    DiskAppenderTest.ManualExecutor disk = new DiskAppenderTest.ManualExecutor();
    BlobDownload d = new BlobDownload(DIGEST, store, CONTENT.length, done::add, disk);

    feed(d, CONTENT, 4096);
    d.onComplete();

    assertThat(d.finished()).isNotDone();
    assertThat(d.written()).isZero();
    assertThat(store.blobPath(DIGEST)).doesNotExist();

    disk.runAll();

    assertThat(d.finished().join()).hasBinaryContent(CONTENT);
    assertThat(d.written()).isEqualTo(CONTENT.length);
    assertThat(done).containsExactly(d);
  }

  @Test
  void onDoneRunsBeforeAnyClientCanSeeTheEndOfAVerifiedDownload() throws IOException {
    List<Boolean> finishedWhenDone = new ArrayList<>();
    BlobDownload[] d = new BlobDownload[1];
    d[0] =
        new BlobDownload(
            DIGEST, store, CONTENT.length, x -> finishedWhenDone.add(d[0].finished().isDone()));

    feed(d[0], CONTENT, 4096);
    d[0].onComplete();

    assertThat(d[0].finished().join()).hasBinaryContent(CONTENT);
    assertThat(finishedWhenDone)
        .as("onDone ran once, before finished() completed")
        .containsExactly(false);
  }

  @Test
  void onDoneRunsBeforeAnyClientCanSeeAFailure() throws IOException {
    List<Boolean> failedWhenDone = new ArrayList<>();
    BlobDownload[] d = new BlobDownload[1];
    d[0] = new BlobDownload(DIGEST, store, CONTENT.length, x -> failedWhenDone.add(d[0].failed()));
    byte[] tampered = CONTENT.clone();
    tampered[0] ^= 0x01;

    feed(d[0], tampered, 4096);
    d[0].onComplete();
    d[0].fail(new IllegalStateException("a second failure is ignored"));

    assertThat(d[0].failed()).isTrue();
    assertThat(failedWhenDone).as("onDone ran once, before failed()").containsExactly(false);
  }

  @Test
  void mismatchIsRefusedWhileWritesAreStillQueuedAndNothingIsStored() throws IOException {
    DiskAppenderTest.ManualExecutor disk = new DiskAppenderTest.ManualExecutor();
    BlobDownload d = new BlobDownload(DIGEST, store, CONTENT.length, done::add, disk);
    byte[] tampered = CONTENT.clone();
    tampered[CONTENT.length - 1] ^= 0x01;

    feed(d, tampered, 4096);
    d.onComplete();

    assertFailedWith(d, Reason.DIGEST_MISMATCH); // known on the event loop, before any write
    disk.runAll();
    assertThat(d.written()).isZero();
    assertNothingStored();
    assertThat(done).containsExactly(d);
  }

  @Test
  void receivedBytesCanBeSentFromMemoryBeforeTheyReachTheFile() throws IOException {
    DiskAppenderTest.ManualExecutor disk = new DiskAppenderTest.ManualExecutor();
    BlobDownload d = new BlobDownload(DIGEST, store, CONTENT.length, done::add, disk);

    feed(d, java.util.Arrays.copyOf(CONTENT, 20_000), 4096);

    assertThat(d.written()).isZero();
    assertThat(d.received()).isEqualTo(20_000);
    assertThat(readReceived(d, 5_000, 20_000))
        .isEqualTo(java.util.Arrays.copyOfRange(CONTENT, 5_000, 20_000));
    assertThat(d.receivedSlice(20_000, 1)).as("not received yet").isNull();
    d.fail(new IOException("upstream reset")); // the download must end to let its buffers go
    disk.runAll();
  }

  @Test
  void receivedBuffersAreLetGoOnceTheDownloadEnds() throws IOException {
    BlobDownload ok = download(CONTENT.length);
    feed(ok, CONTENT, 4096);
    ok.onComplete();
    assertThat(ok.finished()).isCompleted();

    BlobDownload refused = download(CONTENT.length);
    byte[] tampered = CONTENT.clone();
    tampered[0] ^= 0x01;
    feed(refused, tampered, 4096);
    refused.onComplete();
    assertThat(refused.failed()).isTrue();

    assertThat(ok.receivedSlice(0, 1)).as("published: read from the file").isNull();
    assertThat(refused.receivedSlice(0, 1)).isNull();
  }

  @Test
  void bigBlobIsStoredWholeWhateverWayTheStoreWritesIt() throws IOException {
    byte[] big = content(3 * (1 << 20) + 123);
    Digest digest = Digest.sha256(big);
    for (DirectWrites direct : DirectWrites.values()) {
      for (long declared : new long[] {big.length, -1}) {
        ContentStore s =
            new ContentStore(
                    root.resolve("store-" + direct + declared),
                    0,
                    new io.micrometer.core.instrument.simple.SimpleMeterRegistry(),
                    direct)
                .open();
        BlobDownload d = new BlobDownload(digest, s, declared, x -> {});

        feed(d, big, 65_536 + 17);
        d.onComplete();

        assertThat(d.finished().join())
            .as("direct " + direct + ", declared " + declared)
            .hasBinaryContent(big);
        assertThat(d.written()).isEqualTo(big.length);
      }
    }
  }

  private static byte[] readReceived(BlobDownload d, long from, long to) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    long at = from;
    while (at < to) {
      ByteBuf s = d.receivedSlice(at, to - at);
      assertThat(s).as("held at " + at).isNotNull();
      at += s.readableBytes();
      byte[] b = new byte[s.readableBytes()];
      s.readBytes(b);
      s.release();
      out.writeBytes(b);
    }
    return out.toByteArray();
  }

  private BlobDownload download(long expectedLength) {
    try {
      return new BlobDownload(DIGEST, store, expectedLength, done::add);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** Feeds {@code bytes} in chunks of {@code size}, alternating heap and direct buffers. */
  private void feed(BlobDownload d, byte[] bytes, int size) {
    boolean direct = false;
    for (int off = 0; off < bytes.length; off += size) {
      int n = Math.min(size, bytes.length - off);
      ByteBuf chunk =
          direct
              ? Unpooled.directBuffer(n).writeBytes(bytes, off, n)
              : Unpooled.copiedBuffer(bytes, off, n);
      direct = !direct;
      fed.add(chunk);
      try {
        d.onChunk(chunk);
      } finally {
        chunk.release();
      }
    }
  }

  private static void assertFailedWith(BlobDownload d, Reason reason) {
    assertThat(d.failed()).isTrue();
    assertThat(unwrap(d))
        .isInstanceOfSatisfying(
            VerificationException.class, e -> assertThat(e.reason()).isEqualTo(reason));
  }

  private static Throwable unwrap(BlobDownload d) {
    try {
      d.finished().join();
      throw new AssertionError("download did not fail");
    } catch (CompletionException e) {
      return e.getCause();
    }
  }

  private void assertNothingStored() throws IOException {
    assertThat(store.blobPath(DIGEST)).doesNotExist();
    assertThat(store.blobSize(DIGEST)).isEqualTo(-1);
    assertThat(root.resolve("tmp")).isEmptyDirectory();
  }

  private static byte[] content(int n) {
    byte[] b = new byte[n];
    new Random(7).nextBytes(b);
    return b;
  }
}
