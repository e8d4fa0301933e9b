package dev.ociproxy.core.verify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ociproxy.core.oci.Algorithm;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.OciErrorCode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.util.Random;
import org.junit.jupiter.api.Test;

class DigestingSinkTest {
  private static final byte[] CONTENT = content(10_000);
  private static final Digest SHA256 = Digest.sha256(CONTENT);

  @Test
  void heapBufferHashesLikeTheWholeArray() {
    ByteBuf buf = Unpooled.wrappedBuffer(CONTENT);
    try {
      DigestingSink sink = new DigestingSink(SHA256);
      sink.update(buf);

      assertThat(sink.verify()).isEqualTo(SHA256);
      assertThat(sink.length()).isEqualTo(CONTENT.length);
    } finally {
      buf.release();
    }
  }

  @Test
  void heapSliceWithArrayOffsetHashesOnlyItsReadableBytes() {
    byte[] padded = new byte[CONTENT.length + 200];
    System.arraycopy(CONTENT, 0, padded, 100, CONTENT.length);
    padded[99] = 1;
    padded[100 + CONTENT.length] = 2;
    ByteBuf buf = Unpooled.wrappedBuffer(padded, 50, CONTENT.length + 100);
    buf.readerIndex(50);
    buf.writerIndex(50 + CONTENT.length);
    try {
      DigestingSink sink = new DigestingSink(SHA256);
      sink.update(buf);

      assertThat(buf.hasArray()).isTrue();
      assertThat(buf.arrayOffset()).isPositive();
      assertThat(sink.verify()).isEqualTo(SHA256);
    } finally {
      buf.release();
    }
  }

  @Test
  void directBuffersInSeveralChunksHashLikeTheWholeArray() {
    DigestingSink sink = new DigestingSink(SHA256);
    for (int off = 0; off < CONTENT.length; off += 777) {
      ByteBuf chunk = PooledByteBufAllocator.DEFAULT.directBuffer();
      try {
        chunk.writeBytes(CONTENT, off, Math.min(777, CONTENT.length - off));
        assertThat(chunk.hasArray()).isFalse();
        sink.update(chunk);
      } finally {
        chunk.release();
      }
    }

    assertThat(sink.verify()).isEqualTo(SHA256);
    assertThat(sink.length()).isEqualTo(CONTENT.length);
  }

  @Test
  void compositeOfHeapAndDirectComponentsHashesLikeTheWholeArray() {
    CompositeByteBuf composite = Unpooled.compositeBuffer();
    try {
      composite.addComponent(true, Unpooled.wrappedBuffer(CONTENT, 0, 3000));
      composite.addComponent(true, Unpooled.directBuffer(4000).writeBytes(CONTENT, 3000, 4000));
      composite.addComponent(true, Unpooled.wrappedBuffer(CONTENT, 7000, CONTENT.length - 7000));
      composite.readerIndex(0);
      DigestingSink sink = new DigestingSink(SHA256);
      sink.update(composite);

      assertThat(composite.hasArray()).isFalse();
      assertThat(sink.verify()).isEqualTo(SHA256);
    } finally {
      composite.release();
    }
  }

  @Test
  void compositeWhoseReaderIndexIsInsideASecondComponentHashesOnlyTheRest() {
    CompositeByteBuf composite = Unpooled.compositeBuffer();
    try {
      composite.addComponent(true, Unpooled.wrappedBuffer(new byte[] {9, 9, 9}));
      composite.addComponent(true, Unpooled.directBuffer().writeBytes(CONTENT));
      composite.readerIndex(3);
      DigestingSink sink = new DigestingSink(SHA256);
      sink.update(composite);

      assertThat(sink.verify()).isEqualTo(SHA256);
    } finally {
      composite.release();
    }
  }

  @Test
  void updateLeavesReaderAndWriterIndexUnchanged() {
    ByteBuf heap = Unpooled.wrappedBuffer(CONTENT);
    ByteBuf direct = Unpooled.directBuffer().writeBytes(CONTENT);
    try {
      heap.readerIndex(10);
      direct.readerIndex(20);
      DigestingSink sink = new DigestingSink(SHA256);

      sink.update(heap);
      sink.update(direct);

      assertThat(heap.readerIndex()).isEqualTo(10);
      assertThat(heap.writerIndex()).isEqualTo(CONTENT.length);
      assertThat(direct.readerIndex()).isEqualTo(20);
      assertThat(direct.writerIndex()).isEqualTo(CONTENT.length);
      assertThat(sink.length()).isEqualTo(2L * CONTENT.length - 30);
    } finally {
      heap.release();
      direct.release();
    }
  }

  @Test
  void updateDoesNotTakeOwnershipOfTheBuffer() {
    ByteBuf buf = Unpooled.directBuffer().writeBytes(CONTENT);
    try {
      new DigestingSink(SHA256).update(buf);

      assertThat(buf.refCnt()).isEqualTo(1);
    } finally {
      buf.release();
    }
  }

  @Test
  void emptyBufferChangesNothing() {
    DigestingSink sink = new DigestingSink(Digest.sha256(new byte[0]));
    sink.update(Unpooled.EMPTY_BUFFER);

    assertThat(sink.length()).isZero();
    assertThat(sink.verify()).isEqualTo(Digest.sha256(new byte[0]));
  }

  @Test
  void byteArraysAndBuffersMayBeMixed() {
    DigestingSink sink = new DigestingSink(SHA256);
    sink.update(java.util.Arrays.copyOfRange(CONTENT, 0, 5000));
    ByteBuf rest = Unpooled.directBuffer().writeBytes(CONTENT, 5000, CONTENT.length - 5000);
    try {
      sink.update(rest);
    } finally {
      rest.release();
    }

    assertThat(sink.verify()).isEqualTo(SHA256);
  }

  @Test
  void sha512ExpectationIsHashedWithSha512() {
    Digest sha512 = Digest.of(Algorithm.SHA512, CONTENT);
    DigestingSink sink = new DigestingSink(sha512);
    sink.update(CONTENT);

    assertThat(sink.verify()).isEqualTo(sha512);
  }

  @Test
  void flippedByteFailsVerificationWithGotAndWant() {
    byte[] tampered = CONTENT.clone();
    tampered[4242] ^= 1;
    DigestingSink sink = new DigestingSink(SHA256);
    sink.update(tampered);

    assertThatThrownBy(sink::verify)
        .isInstanceOfSatisfying(
            VerificationException.class,
            e -> {
              assertThat(e.reason()).isEqualTo(VerificationException.Reason.DIGEST_MISMATCH);
              assertThat(e.code()).isEqualTo(OciErrorCode.DIGEST_INVALID);
              assertThat(e.requested()).isEqualTo(SHA256);
              assertThat(e.getMessage())
                  .contains("got " + Digest.sha256(tampered))
                  .contains("want " + SHA256)
                  .contains("10000 bytes");
            });
  }

  @Test
  void missingTailFailsVerification() {
    DigestingSink sink = new DigestingSink(SHA256);
    sink.update(java.util.Arrays.copyOf(CONTENT, CONTENT.length - 1));

    assertThatThrownBy(sink::verify).isInstanceOf(VerificationException.class);
  }

  @Test
  void aBufferThatWouldPassTheDeclaredSizeIsRefusedBeforeItIsHashed() {
    DigestingSink sink = new DigestingSink(SHA256, CONTENT.length);
    sink.update(java.util.Arrays.copyOf(CONTENT, CONTENT.length - 1));
    ByteBuf twoMore =
        Unpooled.directBuffer().writeBytes(new byte[] {CONTENT[CONTENT.length - 1], 0});
    try {
      assertThatThrownBy(() -> sink.update(twoMore))
          .isInstanceOfSatisfying(
              VerificationException.class,
              e -> {
                assertThat(e.reason()).isEqualTo(VerificationException.Reason.SIZE_MISMATCH);
                assertThat(e.requested()).isEqualTo(SHA256);
                assertThat(e.detail()).isEqualTo("more bytes than the declared 10000");
              });
      assertThat(sink.length()).isEqualTo(CONTENT.length - 1);
      assertThat(twoMore.readerIndex()).isZero();
    } finally {
      twoMore.release();
    }
  }

  @Test
  void aByteArrayPastTheDeclaredSizeIsRefusedToo() {
    DigestingSink sink = new DigestingSink(SHA256, 3);

    assertThatThrownBy(() -> sink.update(new byte[4]))
        .isInstanceOfSatisfying(
            VerificationException.class,
            e -> assertThat(e.reason()).isEqualTo(VerificationException.Reason.SIZE_MISMATCH));
  }

  @Test
  void exactlyTheDeclaredSizeInSeveralPiecesVerifies() {
    DigestingSink sink = new DigestingSink(SHA256, CONTENT.length);
    sink.update(java.util.Arrays.copyOfRange(CONTENT, 0, 4000));
    sink.update(java.util.Arrays.copyOfRange(CONTENT, 4000, CONTENT.length));

    assertThat(sink.verify()).isEqualTo(SHA256);
  }

  @Test
  void endingShortOfTheDeclaredSizeIsTruncatedWithGotAndWant_beforeTheDigestIsCompared() {
    DigestingSink sink = new DigestingSink(SHA256, CONTENT.length);
    sink.update(java.util.Arrays.copyOf(CONTENT, 100));

    assertThatThrownBy(sink::verify)
        .isInstanceOfSatisfying(
            VerificationException.class,
            e -> {
              assertThat(e.reason()).isEqualTo(VerificationException.Reason.TRUNCATED);
              assertThat(e.requested()).isEqualTo(SHA256);
              assertThat(e.detail()).isEqualTo("got 100 bytes, want 10000");
            });
  }

  @Test
  void withoutADeclaredSizeAnyLengthIsHashedAndOnlyTheDigestDecides() {
    DigestingSink sink = new DigestingSink(SHA256, -1);
    sink.update(CONTENT);
    sink.update(new byte[] {1});

    assertThatThrownBy(sink::verify)
        .isInstanceOfSatisfying(
            VerificationException.class,
            e -> assertThat(e.reason()).isEqualTo(VerificationException.Reason.DIGEST_MISMATCH));
  }

  private static byte[] content(int n) {
    byte[] b = new byte[n];
    new Random(42).nextBytes(b);
    return b;
  }
}
