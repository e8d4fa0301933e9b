package dev.ociproxy.core.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class StagingBuffersTest {
  private final StagingBuffers buffers = new StagingBuffers(4096);

  @Test
  void buffersAreDirectAlignedAndEmpty() {
    ByteBuffer b = buffers.take();

    assertThat(b.isDirect()).isTrue();
    assertThat(b.position()).isZero();
    assertThat(b.limit()).isEqualTo(StagingBuffers.SIZE);
    assertThat(b.alignmentOffset(0, 4096)).as("address aligned for O_DIRECT").isZero();
  }

  @Test
  void givenBackBufferIsTakenAgainCleared() {
    ByteBuffer b = buffers.take();
    b.put(new byte[123]).limit(200);

    buffers.give(b);
    ByteBuffer again = buffers.take();

    assertThat(again).isSameAs(b);
    assertThat(again.position()).isZero();
    assertThat(again.limit()).isEqualTo(StagingBuffers.SIZE);
  }

  @Test
  void keepsAtMostMaxIdleBuffers() {
    List<ByteBuffer> taken = new ArrayList<>();
    for (int i = 0; i < StagingBuffers.MAX_IDLE + 5; i++) {
      taken.add(buffers.take());
    }
    taken.forEach(buffers::give);

    assertThat(buffers.idle()).isEqualTo(StagingBuffers.MAX_IDLE);
  }

  @Test
  void blockThatDoesNotDivideTheBufferIsRefused() {
    assertThatThrownBy(() -> new StagingBuffers(3000)).isInstanceOf(IllegalArgumentException.class);
  }
}
