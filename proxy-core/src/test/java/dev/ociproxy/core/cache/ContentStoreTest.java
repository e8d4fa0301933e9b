package dev.ociproxy.core.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ociproxy.core.oci.Algorithm;
import dev.ociproxy.core.oci.Digest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ContentStoreTest {
  private static final Digest AB = new Digest(Algorithm.SHA256, "ab" + "0".repeat(62));

  @TempDir Path root;

  @Test
  void smallBlobIsWrittenOnTheThreadThatReceivesItAndBigOrUnknownOnesOnAWriter() throws Exception {
    ContentStore store = new ContentStore(root).open();
    try {
      assertThat(threadRunning(store.writerFor(0))).isSameAs(Thread.currentThread());
      assertThat(threadRunning(store.writerFor(ContentStore.INLINE_WRITE_MAX)))
          .isSameAs(Thread.currentThread());
      assertThat(threadRunning(store.writerFor(ContentStore.INLINE_WRITE_MAX + 1)).getName())
          .startsWith("blob-writer-");
      assertThat(threadRunning(store.writerFor(-1)).getName())
          .as("unknown length")
          .startsWith("blob-writer-");
    } finally {
      store.close();
    }
  }

  private static Thread threadRunning(java.util.concurrent.Executor executor) throws Exception {
    java.util.concurrent.CompletableFuture<Thread> ran =
        new java.util.concurrent.CompletableFuture<>();
    executor.execute(() -> ran.complete(Thread.currentThread()));
    return ran.get(10, java.util.concurrent.TimeUnit.SECONDS);
  }

  @Test
  void openCreatesTheStoreDirectories() {
    new ContentStore(root).open();

    assertThat(root.resolve("blobs")).isDirectory();
    assertThat(root.resolve("manifests")).isDirectory();
    assertThat(root.resolve("tmp")).isDirectory();
  }

  @Test
  void openRemovesTemporaryFilesLeftByAPreviousRun() throws IOException {
    Path tmp = Files.createDirectories(root.resolve("tmp"));
    Files.writeString(tmp.resolve("1234.part"), "half a layer");
    Files.writeString(tmp.resolve("5678.part"), "another half");

    new ContentStore(root).open();

    assertThat(tmp).isEmptyDirectory();
  }

  @Test
  void openKeepsPublishedContent() throws IOException {
    ContentStore store = new ContentStore(root).open();
    store.putManifest(AB, bytes("{}"));

    new ContentStore(root).open();

    assertThat(store.readManifest(AB)).isEqualTo(bytes("{}"));
  }

  @Test
  void bigBlobsMayBypassThePageCacheWhereTheFileSystemAllowsItAndSmallOnesNever()
      throws IOException {
    ContentStore auto = new ContentStore(root.resolve("auto")).open();
    ContentStore always =
        new ContentStore(
                root.resolve("always"),
                0,
                new io.micrometer.core.instrument.simple.SimpleMeterRegistry(),
                DirectWrites.ALWAYS)
            .open();
    assumeTrue(auto.writesDirect(), "the file system of " + root + " refuses O_DIRECT");

    try (BlobFile big = auto.newBlobFile(auto.newTempFile(), ContentStore.DIRECT_MIN_LENGTH);
        BlobFile unannounced = auto.newBlobFile(auto.newTempFile(), -1);
        BlobFile small = auto.newBlobFile(auto.newTempFile(), ContentStore.DIRECT_MIN_LENGTH - 1);
        BlobFile bigAlways =
            always.newBlobFile(always.newTempFile(), ContentStore.DIRECT_MIN_LENGTH);
        BlobFile smallAlways = always.newBlobFile(always.newTempFile(), 1000)) {
      assertThat(big).as("page cache until it falls behind").isInstanceOf(AdaptiveBlobFile.class);
      assertThat(unannounced).isInstanceOf(AdaptiveBlobFile.class);
      assertThat(small)
          .as("kept in the page cache for the next pull")
          .isInstanceOf(BufferedBlobFile.class);
      assertThat(bigAlways).isInstanceOf(DirectBlobFile.class);
      assertThat(smallAlways).isInstanceOf(BufferedBlobFile.class);
    }
  }

  @Test
  void directWritesNeverWritesEveryBlobThroughThePageCache() throws IOException {
    ContentStore store =
        new ContentStore(
                root,
                0,
                new io.micrometer.core.instrument.simple.SimpleMeterRegistry(),
                DirectWrites.NEVER)
            .open();

    assertThat(store.writesDirect()).isFalse();
    try (BlobFile big = store.newBlobFile(store.newTempFile(), 1L << 30)) {
      assertThat(big).isInstanceOf(BufferedBlobFile.class);
    }
  }

  @Test
  void directoryWhereDirectWritesFailTurnsThemOff() {
    assertThat(DirectIoProbe.blockSize(root.resolve("missing"))).isZero();
  }

  @Test
  void closeLetsQueuedBackgroundWritesFinishAndLaterOnesRunInline() throws Exception {
    ContentStore store = new ContentStore(root).open();
    java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.atomic.AtomicBoolean finished =
        new java.util.concurrent.atomic.AtomicBoolean();
    store
        .background()
        .execute(
            () -> {
              started.countDown();
              sleep(200);
              finished.set(true);
            });
    started.await();

    store.close();

    assertThat(finished).isTrue();
    java.util.concurrent.atomic.AtomicReference<Thread> ranOn =
        new java.util.concurrent.atomic.AtomicReference<>();
    store.background().execute(() -> ranOn.set(Thread.currentThread()));
    assertThat(ranOn.get()).isSameAs(Thread.currentThread());
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Test
  void blobPathIsBlobsAlgorithmTwoHexPrefixAndHex() {
    ContentStore store = new ContentStore(root);

    assertThat(store.blobPath(AB))
        .isEqualTo(root.toAbsolutePath().resolve("blobs/sha256/ab/" + AB.hex()));
  }

  @Test
  void manifestPathIsManifestsAlgorithmTwoHexPrefixAndHex() {
    Digest sha512 = new Digest(Algorithm.SHA512, "f0" + "1".repeat(126));

    assertThat(new ContentStore(root).manifestPath(sha512))
        .isEqualTo(root.toAbsolutePath().resolve("manifests/sha512/f0/" + sha512.hex()));
  }

  @Test
  void relativeRootIsMadeAbsolute() {
    assertThat(new ContentStore(Path.of("relative-cache")).root()).isAbsolute();
  }

  @Test
  void putManifestThenReadManifestRoundTrips() {
    ContentStore store = new ContentStore(root).open();
    byte[] body = bytes("{\"schemaVersion\":2}");
    Digest d = Digest.sha256(body);

    store.putManifest(d, body);

    assertThat(store.readManifest(d)).isEqualTo(body);
    assertThat(store.manifestPath(d)).hasBinaryContent(body);
  }

  @Test
  void putManifestLeavesNoTemporaryFile() throws IOException {
    ContentStore store = new ContentStore(root).open();

    store.putManifest(AB, bytes("{}"));

    assertThat(root.resolve("tmp")).isEmptyDirectory();
  }

  @Test
  void putManifestReplacesAnEarlierCopy() {
    ContentStore store = new ContentStore(root).open();
    store.putManifest(AB, bytes("old"));

    store.putManifest(AB, bytes("new"));

    assertThat(store.readManifest(AB)).isEqualTo(bytes("new"));
  }

  @Test
  void missingManifestReadsAsNull() {
    assertThat(new ContentStore(root).open().readManifest(AB)).isNull();
  }

  @Test
  void missingBlobHasSizeMinusOne() {
    assertThat(new ContentStore(root).open().blobSize(AB)).isEqualTo(-1);
  }

  @Test
  void publishMovesTheTemporaryFileToItsNameAndReportsItsSize() throws IOException {
    ContentStore store = new ContentStore(root).open();
    Path temp = store.newTempFile();
    Files.write(temp, new byte[123]);

    store.publish(temp, store.blobPath(AB));

    assertThat(temp).doesNotExist();
    assertThat(store.blobSize(AB)).isEqualTo(123);
  }

  @Test
  void temporaryFilesAreUniqueUnderTmpAndNotCreated() {
    ContentStore store = new ContentStore(root).open();

    Path a = store.newTempFile();
    Path b = store.newTempFile();

    assertThat(a).isNotEqualTo(b).doesNotExist();
    assertThat(a.getParent()).isEqualTo(root.toAbsolutePath().resolve("tmp"));
  }

  @Test
  void deleteQuietlyIgnoresMissingFiles() throws IOException {
    ContentStore.deleteQuietly(root.resolve("nope"));

    try (Stream<Path> s = Files.list(root)) {
      assertThat(s).isEmpty();
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
