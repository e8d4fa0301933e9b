package dev.ociproxy.core.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.core.upstream.BodyFlow;
import dev.ociproxy.testing.NoLeakedBuffers;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(NoLeakedBuffers.class)
class DiskAppenderTest {
  private static final WriteBudget UNLIMITED = new WriteBudget(Long.MAX_VALUE, Long.MAX_VALUE);

  @TempDir Path dir;
  private Path file;
  private BlobFile out;
  private final ManualExecutor writer = new ManualExecutor();
  private final List<IOException> errors = new ArrayList<>();
  private final AtomicInteger progress = new AtomicInteger();

  @BeforeEach
  void open() throws IOException {
    file = dir.resolve("blob.part");
    out =
        new BufferedBlobFile(
            FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE));
  }

  @AfterEach
  void close() throws IOException {
    out.close();
  }

  @Test
  void bytesReachTheFileInArrivalOrderOnTheWriterThread() throws Exception {
    ExecutorService pool = Executors.newSingleThreadExecutor(r -> new Thread(r, "test-writer"));
    try {
      List<String> writerThreads = new ArrayList<>();
      DiskAppender disk =
          new DiskAppender(
              out,
              pool,
              UNLIMITED,
              () -> writerThreads.add(Thread.currentThread().getName()),
              errors::add);
      byte[] content = bytes(300_000);
      CompletableFuture<Long> end = new CompletableFuture<>();

      for (int off = 0; off < content.length; off += 7_000) {
        append(disk, Arrays.copyOfRange(content, off, Math.min(content.length, off + 7_000)));
      }
      disk.then(() -> end.complete(disk.written()));

      assertThat(end.get(10, TimeUnit.SECONDS)).isEqualTo(content.length);
      assertThat(Files.readAllBytes(file)).isEqualTo(content);
      assertThat(writerThreads).hasSize(43).containsOnly("test-writer");
      assertThat(errors).isEmpty();
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void producerIsPausedAboveTheHighWaterMarkAndResumedOnceTheDiskCatchesUp() throws IOException {
    DiskAppender disk =
        new DiskAppender(out, writer, UNLIMITED, progress::incrementAndGet, errors::add);
    RecordingFlow flow = new RecordingFlow();
    disk.flow(flow);
    int piece = 1 << 20;
    long pieces = DiskAppender.HIGH_WATER / piece;

    for (int i = 0; i < pieces; i++) {
      append(disk, new byte[piece]); // exactly at the mark: not above it
    }
    assertThat(flow.events).isEmpty();
    append(disk, new byte[piece]);
    append(disk, new byte[piece]); // still paused: no second pause
    assertThat(flow.events).containsExactly("pause");
    assertThat(disk.written()).isZero();

    writer.runAll();

    assertThat(flow.events).containsExactly("pause", "resume");
    assertThat(disk.written()).isEqualTo((pieces + 2) * piece);
    assertThat(Files.size(file)).isEqualTo((pieces + 2) * piece);
  }

  @Test
  void fileIsToldWhenTheQueueOutgrowsItsHighWaterMark() {
    AtomicInteger told = new AtomicInteger();
    DiskAppender disk =
        new DiskAppender(
            new TellingFile(out, told), writer, UNLIMITED, progress::incrementAndGet, errors::add);
    int piece = 1 << 20;

    for (long queued = 0; queued < DiskAppender.HIGH_WATER; queued += piece) {
      append(disk, new byte[piece]);
    }
    assertThat(told).as("at the mark, not above it").hasValue(0);
    append(disk, new byte[1]);

    assertThat(told).hasValue(1);
    writer.runAll();
  }

  @Test
  void downloadsPauseWhileTheSharedBudgetIsSpentAndResumeOnceItDrains() throws IOException {
    WriteBudget budget = new WriteBudget(3 << 20, 1 << 20);
    try (FileChannel otherOut =
        FileChannel.open(
            dir.resolve("other.part"), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      DiskAppender big =
          new DiskAppender(out, writer, budget, progress::incrementAndGet, errors::add);
      DiskAppender small =
          new DiskAppender(
              new BufferedBlobFile(otherOut),
              writer,
              budget,
              progress::incrementAndGet,
              errors::add);
      RecordingFlow bigFlow = new RecordingFlow();
      RecordingFlow smallFlow = new RecordingFlow();
      big.flow(bigFlow);
      small.flow(smallFlow);
      int piece = 1 << 20;

      for (int i = 0; i < 4; i++) {
        append(big, new byte[piece]); // 4 MiB: under its own mark, over the shared one
      }
      append(small, new byte[piece]); // 1 MiB of its own, but the budget is spent

      assertThat(bigFlow.events).containsExactly("pause");
      assertThat(smallFlow.events).containsExactly("pause");

      writer.runNext(); // only the big download's writes: they bring the budget under its low mark

      assertThat(bigFlow.events).containsExactly("pause", "resume");
      assertThat(smallFlow.events)
          .as("resumed by the budget, with its own byte still queued")
          .containsExactly("pause", "resume");
      assertThat(Files.size(dir.resolve("other.part"))).isZero();

      writer.runAll();
      assertThat(budget.queued()).isZero();
      assertThat(Files.size(file)).isEqualTo(4L * piece);
      assertThat(Files.size(dir.resolve("other.part"))).isEqualTo(piece);
    }
  }

  @Test
  void discardedBuffersGiveTheirBytesBackToTheSharedBudget() throws IOException {
    WriteBudget budget = new WriteBudget(Long.MAX_VALUE, Long.MAX_VALUE);
    DiskAppender disk =
        new DiskAppender(out, writer, budget, progress::incrementAndGet, errors::add);
    append(disk, new byte[1000]);
    append(disk, new byte[1000]);
    assertThat(budget.queued()).isEqualTo(2000);

    disk.discard();
    writer.runAll();

    assertThat(budget.queued()).isZero();
  }

  @Test
  void discardReleasesQueuedBuffersAndSkipsTheFinalAction() throws IOException {
    DiskAppender disk =
        new DiskAppender(out, writer, UNLIMITED, progress::incrementAndGet, errors::add);
    List<ByteBuf> chunks = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      ByteBuf chunk = Unpooled.directBuffer().writeBytes(new byte[1000]);
      disk.append(chunk);
      chunk.release(); // the caller's reference: the appender holds its own
      chunks.add(chunk);
    }
    AtomicInteger finals = new AtomicInteger();
    disk.then(finals::incrementAndGet);

    disk.discard();
    writer.runAll();
    ByteBuf late = Unpooled.directBuffer().writeBytes(new byte[10]);
    disk.append(late);
    writer.runAll();

    assertThat(chunks).allSatisfy(c -> assertThat(c.refCnt()).isZero());
    assertThat(late.refCnt()).isEqualTo(1);
    late.release();
    assertThat(Files.size(file)).isZero();
    assertThat(finals).hasValue(0);
    assertThat(progress).hasValue(0);
  }

  @Test
  void failedWriteIsReportedOnceAndNothingMoreIsWritten() throws IOException {
    DiskAppender disk =
        new DiskAppender(out, writer, UNLIMITED, progress::incrementAndGet, errors::add);
    out.close(); // every write now fails
    List<ByteBuf> chunks = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      ByteBuf chunk = Unpooled.directBuffer().writeBytes(new byte[1000]);
      disk.append(chunk);
      chunk.release();
      chunks.add(chunk);
    }
    AtomicInteger finals = new AtomicInteger();
    disk.then(finals::incrementAndGet);

    writer.runAll();

    assertThat(errors).hasSize(1);
    assertThat(chunks).allSatisfy(c -> assertThat(c.refCnt()).isZero());
    assertThat(disk.written()).isZero();
    assertThat(finals).hasValue(0);
  }

  @Test
  void appendLeavesTheCallersBufferUntouched() {
    DiskAppender disk =
        new DiskAppender(out, writer, UNLIMITED, progress::incrementAndGet, errors::add);
    ByteBuf chunk = Unpooled.directBuffer().writeBytes(new byte[100]);

    disk.append(chunk);
    writer.runAll();

    assertThat(chunk.refCnt()).isEqualTo(1);
    assertThat(chunk.readerIndex()).isZero();
    chunk.release();
  }

  /** A file that counts how often it is told it falls behind. */
  private record TellingFile(BlobFile file, AtomicInteger told) implements BlobFile {
    @Override
    public void append(ByteBuffer src) throws IOException {
      file.append(src);
    }

    @Override
    public void flush() throws IOException {
      file.flush();
    }

    @Override
    public void finish() throws IOException {
      file.finish();
    }

    @Override
    public long durable() {
      return file.durable();
    }

    @Override
    public void fallingBehind() {
      told.incrementAndGet();
    }

    @Override
    public void close() throws IOException {
      file.close();
    }
  }

  private static void append(DiskAppender disk, byte[] bytes) {
    ByteBuf chunk = Unpooled.wrappedBuffer(bytes);
    disk.append(chunk);
    chunk.release();
  }

  private static byte[] bytes(int n) {
    byte[] b = new byte[n];
    new Random(3).nextBytes(b);
    return b;
  }

  /** Runs submitted tasks only when the test says so: a disk that has fallen behind. */
  static final class ManualExecutor implements java.util.concurrent.Executor {
    private final ArrayDeque<Runnable> tasks = new ArrayDeque<>();

    @Override
    public void execute(Runnable r) {
      tasks.add(r);
    }

    void runNext() {
      tasks.poll().run();
    }

    void runAll() {
      Runnable r;
      while ((r = tasks.poll()) != null) {
        r.run();
      }
    }
  }

  private static final class RecordingFlow implements BodyFlow {
    final List<String> events = new ArrayList<>();

    @Override
    public void pause() {
      events.add("pause");
    }

    @Override
    public void resume() {
      events.add("resume");
    }
  }
}
