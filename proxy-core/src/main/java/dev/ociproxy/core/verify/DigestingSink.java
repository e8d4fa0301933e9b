package dev.ociproxy.core.verify;

import static java.util.Objects.requireNonNull;

import dev.ociproxy.core.oci.Digest;
import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
import java.security.MessageDigest;

/**
 * Hashes bytes as they stream past, counts them, and holds them to the expected digest and, when
 * one was declared, the expected size: a byte past the size is refused as it arrives (before it is
 * hashed or passed on), a stream that ends short of it at {@link #verify}. Reads buffers in place
 * (no copy into a heap array of our own), and does not take ownership of them. Not thread-safe: one
 * stream, one sink.
 */
public final class DigestingSink {
  private final Digest expected;
  private final long expectedSize;
  private final MessageDigest md;
  private long length;

  /** A sink that checks the digest only (the size was not declared). */
  public DigestingSink(Digest expected) {
    this(expected, -1);
  }

  /**
   * @param expectedSize the declared size in bytes, or -1 when unknown (a chunked body)
   */
  public DigestingSink(Digest expected, long expectedSize) {
    this.expected = requireNonNull(expected, "expected");
    this.expectedSize = expectedSize;
    this.md = expected.algorithm().newMessageDigest();
  }

  /**
   * Hashes the readable bytes of {@code buf} without moving its reader index.
   *
   * @throws VerificationException {@code SIZE_MISMATCH} when they would pass the expected size;
   *     nothing of {@code buf} is hashed then
   */
  public void update(ByteBuf buf) {
    int n = buf.readableBytes();
    if (n == 0) {
      return;
    }
    checkRoomFor(n);
    if (buf.hasArray()) {
      md.update(buf.array(), buf.arrayOffset() + buf.readerIndex(), n);
    } else {
      for (ByteBuffer b : buf.nioBuffers(buf.readerIndex(), n)) {
        md.update(b);
      }
    }
    length += n;
  }

  /** Hashes {@code bytes}; refused like {@link #update(ByteBuf)} past the expected size. */
  public void update(byte[] bytes) {
    checkRoomFor(bytes.length);
    md.update(bytes);
    length += bytes.length;
  }

  public long length() {
    return length;
  }

  private void checkRoomFor(int n) {
    if (expectedSize >= 0 && length + n > expectedSize) {
      throw new VerificationException(
          VerificationException.Reason.SIZE_MISMATCH,
          expected,
          "more bytes than the declared " + expectedSize);
    }
  }

  /**
   * Finishes the hash and compares the stream with what was expected: first its size, then its
   * digest.
   *
   * @throws VerificationException {@code TRUNCATED} when fewer bytes than the expected size came,
   *     {@code DIGEST_MISMATCH} when the content hashes to something else
   */
  public Digest verify() {
    if (expectedSize >= 0 && length != expectedSize) {
      throw new VerificationException(
          VerificationException.Reason.TRUNCATED,
          expected,
          "got " + length + " bytes, want " + expectedSize);
    }
    Digest actual = Digest.finish(expected.algorithm(), md);
    if (!actual.equals(expected)) {
      throw new VerificationException(
          VerificationException.Reason.DIGEST_MISMATCH,
          expected,
          "got " + actual + " (" + length + " bytes), want " + expected);
    }
    return actual;
  }
}
