package dev.ociproxy.core.verify;

import static java.util.Objects.requireNonNull;

import dev.ociproxy.core.oci.Digest;
import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
import java.security.MessageDigest;

/**
 * Hashes bytes as they stream past and counts them. Reads buffers in place (no copy into a heap
 * array of our own), and does not take ownership of them. Not thread-safe: one stream, one sink.
 */
public final class DigestingSink {
  private final Digest expected;
  private final MessageDigest md;
  private long length;

  public DigestingSink(Digest expected) {
    this.expected = requireNonNull(expected, "expected");
    this.md = expected.algorithm().newMessageDigest();
  }

  /** Hashes the readable bytes of {@code buf} without moving its reader index. */
  public void update(ByteBuf buf) {
    int n = buf.readableBytes();
    if (n == 0) {
      return;
    }
    if (buf.hasArray()) {
      md.update(buf.array(), buf.arrayOffset() + buf.readerIndex(), n);
    } else {
      for (ByteBuffer b : buf.nioBuffers(buf.readerIndex(), n)) {
        md.update(b);
      }
    }
    length += n;
  }

  public void update(byte[] bytes) {
    md.update(bytes);
    length += bytes.length;
  }

  public long length() {
    return length;
  }

  /**
   * Finishes the hash and compares it with the expected digest.
   *
   * @throws VerificationException when the content hashes to something else
   */
  public Digest verify() {
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
