package dev.ociproxy.core.cache;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ReceivedWindowTest {
  private final ReceivedWindow window = new ReceivedWindow();
  private final List<ByteBuf> chunks = new ArrayList<>();

  @AfterEach
  void releaseOurReferences() {
    window.close();
    chunks.forEach(ByteBuf::release);
  }

  @Test
  void sliceStartsAtTheAskedOffsetAndStaysInsideOneChunk() {
    add("abcde");
    add("fgh");

    assertThat(read(0, 100)).isEqualTo("abcde");
    assertThat(read(3, 100)).isEqualTo("de");
    assertThat(read(5, 2)).isEqualTo("fg");
    assertThat(read(7, 100)).isEqualTo("h");
    assertThat(window.slice(8, 100)).as("not received yet").isNull();
    assertThat(window.end()).isEqualTo(8);
  }

  @Test
  void sliceIsTheCallersOwnAndTheChunkIsNotMoved() {
    ByteBuf chunk = add("abcdef");
    chunk.readerIndex(2); // the window kept the bytes readable when it was added

    ByteBuf s = window.slice(1, 3);
    assertThat(s.toString(java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("bcd");
    s.release();

    assertThat(read(0, 6)).isEqualTo("abcdef");
  }

  @Test
  void chunksStayHeldUntilTheyAreWellBehindTheFile() {
    int mib = 1 << 20;
    List<ByteBuf> added = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      added.add(add(new byte[mib]));
    }
    chunks.forEach(ByteBuf::release);
    chunks.clear(); // the window's references are all that is left

    window.trim(mib); // one MiB in the file: nothing is far enough behind
    assertThat(window.slice(0, 1)).isNotNull().satisfies(ByteBuf::release);

    window.trim(ReceivedWindow.KEEP_BEHIND + 2L * mib);

    assertThat(window.slice(0, 1)).as("released: read it from the file").isNull();
    assertThat(window.slice(mib, 1)).isNull();
    assertThat(added.get(0).refCnt()).isZero();
    assertThat(added.get(1).refCnt()).isZero();
    assertThat(window.slice(2L * mib, 1)).isNotNull().satisfies(ByteBuf::release);
  }

  @Test
  void downloadsTogetherKeepNoMoreThanTheSharedLimitBehindTheirFiles() {
    int mib = 1 << 20;
    AtomicLong shared = new AtomicLong();
    ReceivedWindow first = new ReceivedWindow(shared, 3L * mib);
    ReceivedWindow second = new ReceivedWindow(shared, 3L * mib);
    try {
      for (ReceivedWindow w : List.of(first, second)) {
        for (int i = 0; i < 4; i++) {
          ByteBuf chunk = Unpooled.directBuffer(mib).writeZero(mib);
          w.add(chunk);
          chunk.release();
        }
      }

      first.trim(2L * mib); // 2 MiB behind: within the limit
      assertThat(shared).hasValue(2L * mib);
      assertThat(first.slice(0, 1)).isNotNull().satisfies(ByteBuf::release);

      second.trim(2L * mib); // together 4 MiB: the second keeps only what is not yet in its file
      assertThat(shared).hasValue(2L * mib);
      assertThat(second.slice(mib, 1)).isNull();
      assertThat(second.slice(2L * mib, 1)).isNotNull().satisfies(ByteBuf::release);

      first.close();
      assertThat(shared).as("a closed window keeps nothing").hasValue(0);
    } finally {
      first.close();
      second.close();
    }
  }

  @Test
  void closeReleasesEverythingButKeepsCountingWhatArrives() {
    ByteBuf chunk = add("abc");
    chunks.remove(chunk);
    chunk.release();

    window.close();
    ByteBuf late = add("de");

    assertThat(chunk.refCnt()).isZero();
    assertThat(late.refCnt()).as("not held after close").isEqualTo(1);
    assertThat(window.slice(0, 5)).isNull();
    assertThat(window.slice(3, 5)).isNull();
    assertThat(window.end()).isEqualTo(5);
  }

  private ByteBuf add(String s) {
    return add(s.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
  }

  private ByteBuf add(byte[] bytes) {
    ByteBuf chunk = Unpooled.directBuffer(bytes.length).writeBytes(bytes);
    window.add(chunk);
    chunks.add(chunk);
    return chunk;
  }

  private String read(long position, long max) {
    ByteBuf s = window.slice(position, max);
    try {
      return new String(ByteBufUtil.getBytes(s), java.nio.charset.StandardCharsets.US_ASCII);
    } finally {
      s.release();
    }
  }
}
