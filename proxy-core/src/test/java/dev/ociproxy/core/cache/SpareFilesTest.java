package dev.ociproxy.core.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.core.oci.Digest;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SpareFilesTest {
  private static final byte[] SMALL = "a small layer".getBytes(StandardCharsets.UTF_8);

  @TempDir Path root;

  @Test
  void sparesAreMadeOnTheMakerAndEachTakenOnceAsAnEmptyFile() throws Exception {
    DiskAppenderTest.ManualExecutor maker = new DiskAppenderTest.ManualExecutor();
    SpareFiles spares = new SpareFiles(root.resolve("spare"), maker);

    assertThat(spares.take()).as("none made yet").isNull();
    maker.runAll();
    assertThat(files(root.resolve("spare"))).hasSize(SpareFiles.KEEP);

    List<Path> taken = new ArrayList<>();
    for (int i = 0; i < SpareFiles.KEEP; i++) {
      taken.add(spares.take());
    }
    assertThat(taken).doesNotContainNull().doesNotHaveDuplicates();
    assertThat(taken).allSatisfy(p -> assertThat(p).isEmptyFile());
    assertThat(spares.take()).as("all taken, none made since").isNull();

    maker.runAll();
    assertThat(files(root.resolve("spare"))).hasSize(2 * SpareFiles.KEEP);
  }

  @Test
  void closeRemovesTheSparesNotTakenAndMakesNoMore() throws Exception {
    DiskAppenderTest.ManualExecutor maker = new DiskAppenderTest.ManualExecutor();
    SpareFiles spares = new SpareFiles(root.resolve("spare"), maker);
    spares.refill();
    maker.runAll();
    Path taken = spares.take();

    spares.close();
    maker.runAll();
    spares.refill();
    maker.runAll();

    assertThat(files(root.resolve("spare"))).containsExactly(taken);
    assertThat(spares.take()).isNull();
  }

  @Test
  void aSmallDownloadIsWrittenIntoASpareAndPublishedLeavingNoTemporaryFile() throws Exception {
    ContentStore store = new ContentStore(root).open();
    try {
      Path spare = awaitSpares(store);

      BlobDownload d = downloadWhole(store, Digest.sha256(SMALL));

      assertThat(d.finished().join()).hasBinaryContent(SMALL);
      assertThat(files(spare))
          .as("the one taken was renamed into the store")
          .hasSize(SpareFiles.KEEP - 1);
      assertThat(files(root.resolve("tmp"))).isEmpty();
      assertThat(files(spare)).allSatisfy(p -> assertThat(p).isEmptyFile());
    } finally {
      store.close();
    }
    assertThat(files(root.resolve("spare"))).as("removed at close").isEmpty();
  }

  @Test
  void aRefusedSmallDownloadRemovesItsSpare() throws Exception {
    ContentStore store = new ContentStore(root).open();
    try {
      Path spare = awaitSpares(store);

      BlobDownload d = downloadWhole(store, Digest.sha256("other".getBytes()));

      assertThat(d.failed()).isTrue();
      assertThat(files(spare)).as("the refused bytes deleted").hasSize(SpareFiles.KEEP - 1);
      assertThat(files(spare)).allSatisfy(p -> assertThat(p).isEmptyFile());
      assertThat(files(root.resolve("tmp"))).isEmpty();
    } finally {
      store.close();
    }
  }

  @Test
  void openRemovesSparesLeftByAPreviousRun() throws Exception {
    Path spare = Files.createDirectories(root.resolve("spare"));
    Files.writeString(spare.resolve("1234.part"), "half a small layer, before a crash");

    ContentStore store = new ContentStore(root).open();
    try {
      assertThat(spare.resolve("1234.part")).doesNotExist();
    } finally {
      store.close();
    }
  }

  /** A download of {@link #SMALL} as {@code digest}, fed whole and ended. */
  private static BlobDownload downloadWhole(ContentStore store, Digest digest) throws Exception {
    BlobDownload d = new BlobDownload(digest, store, SMALL.length, x -> {});
    d.onChunk(Unpooled.wrappedBuffer(SMALL));
    d.onComplete();
    return d;
  }

  /** The spare directory once the store's first spares are made (asked for by a first take). */
  private Path awaitSpares(ContentStore store) throws InterruptedException {
    Path spare = store.root().resolve("spare");
    assertThat(store.newTempFile(1).getParent())
        .as("none made before the first small download asks")
        .isEqualTo(store.root().resolve("tmp"));
    for (int i = 0; i < 500 && files(spare).size() < SpareFiles.KEEP; i++) {
      Thread.sleep(10);
    }
    assertThat(files(spare)).hasSize(SpareFiles.KEEP);
    return spare;
  }

  private static List<Path> files(Path dir) {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
