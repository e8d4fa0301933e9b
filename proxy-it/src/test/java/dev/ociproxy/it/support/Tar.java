package dev.ociproxy.it.support;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

/** A minimal ustar writer for generated layers: directories and regular files, owned by root. */
final class Tar {

  private static final int BLOCK = 512;
  private static final long MTIME =
      1_704_067_200L; // 2024-01-01, fixed so a seed reproduces digests

  private final OutputStream out;

  Tar(OutputStream out) {
    this.out = out;
  }

  void directory(String name) throws IOException {
    out.write(header(name, 0, '5', 0755));
  }

  void file(String name, byte[] content) throws IOException {
    out.write(header(name, content.length, '0', 0644));
    out.write(content);
    pad(content.length);
  }

  /** Writes a file of {@code size} random bytes without holding it in memory. */
  void randomFile(String name, long size, SplittableRandom random) throws IOException {
    out.write(header(name, size, '0', 0755));
    byte[] buf = new byte[1 << 16];
    long left = size;
    while (left > 0) {
      int n = (int) Math.min(buf.length, left);
      random.nextBytes(buf);
      out.write(buf, 0, n);
      left -= n;
    }
    pad(size);
  }

  /** Writes the two zero blocks that end an archive. */
  void finish() throws IOException {
    out.write(new byte[2 * BLOCK]);
  }

  private void pad(long size) throws IOException {
    int rem = (int) (size % BLOCK);
    if (rem != 0) {
      out.write(new byte[BLOCK - rem]);
    }
  }

  private static byte[] header(String name, long size, char type, int mode) {
    byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
    if (nameBytes.length > 100) {
      throw new IllegalArgumentException("name: " + name + " (expected: at most 100 bytes)");
    }
    byte[] h = new byte[BLOCK];
    System.arraycopy(nameBytes, 0, h, 0, nameBytes.length);
    octal(h, 100, 8, mode);
    octal(h, 108, 8, 0); // uid
    octal(h, 116, 8, 0); // gid
    octal(h, 124, 12, size);
    octal(h, 136, 12, MTIME);
    for (int i = 148; i < 156; i++) {
      h[i] = ' ';
    }
    h[156] = (byte) type;
    ascii(h, 257, "ustar\0");
    ascii(h, 263, "00");
    ascii(h, 265, "root");
    ascii(h, 297, "root");
    octal(h, 329, 8, 0);
    octal(h, 337, 8, 0);
    long sum = 0;
    for (byte b : h) {
      sum += b & 0xff;
    }
    String chk = String.format("%06o", sum);
    ascii(h, 148, chk);
    h[154] = 0;
    h[155] = ' ';
    return h;
  }

  private static void octal(byte[] h, int off, int len, long value) {
    String s = Long.toOctalString(value);
    if (s.length() > len - 1) {
      throw new IllegalArgumentException(
          "value " + value + " does not fit " + len + " octal bytes");
    }
    s = "0".repeat(len - 1 - s.length()) + s;
    ascii(h, off, s);
    h[off + len - 1] = 0;
  }

  private static void ascii(byte[] h, int off, String s) {
    byte[] b = s.getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(b, 0, h, off, b.length);
  }
}
