package dev.ociproxy.core.airgap;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Writes a POSIX tar stream: ustar headers, with a PAX extended header for names over 100 bytes
 * (sha512 blob paths) and sizes of 8 GiB or more. Entries carry mode 0644/0755, owner 0 and mtime 0,
 * so the same content always gives the same archive. Not thread-safe.
 */
final class TarWriter implements AutoCloseable {
  private static final int BLOCK = 512;
  private static final long MAX_OCTAL_SIZE = 077777777777L;

  private final OutputStream out;
  private long entryRemaining = -1;
  private long entrySize;

  TarWriter(OutputStream out) {
    this.out = out;
  }

  void directory(String name) throws IOException {
    header(name.endsWith("/") ? name : name + "/", 0, '5', 0755);
  }

  void file(String name, byte[] content) throws IOException {
    try (OutputStream o = file(name, content.length)) {
      o.write(content);
    }
  }

  /**
   * Starts a file entry; exactly {@code size} bytes must be written to the returned stream before
   * it is closed (closing pads the entry to the block size).
   */
  OutputStream file(String name, long size) throws IOException {
    header(name, size, '0', 0644);
    entryRemaining = size;
    entrySize = size;
    return new FilterOutputStream(out) {
      @Override
      public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        if (len > entryRemaining) {
          throw new IOException("tar entry " + name + ": more than the declared " + entrySize + " bytes");
        }
        out.write(b, off, len);
        entryRemaining -= len;
      }

      @Override
      public void close() throws IOException {
        if (entryRemaining != 0) {
          throw new IOException("tar entry " + name + ": " + entryRemaining + " of " + entrySize + " bytes missing");
        }
        pad(entrySize);
        entryRemaining = -1;
      }
    };
  }

  /** Writes the end-of-archive marker (two zero blocks) and flushes; does not close the stream. */
  void finish() throws IOException {
    out.write(new byte[2 * BLOCK]);
    out.flush();
  }

  @Override
  public void close() throws IOException {
    out.close();
  }

  private void header(String name, long size, char type, int mode) throws IOException {
    if (entryRemaining > 0) {
      throw new IllegalStateException("previous tar entry not finished");
    }
    byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
    if (nameBytes.length > 100 || size > MAX_OCTAL_SIZE) {
      StringBuilder pax = new StringBuilder();
      if (nameBytes.length > 100) {
        pax.append(paxRecord("path", name));
      }
      if (size > MAX_OCTAL_SIZE) {
        pax.append(paxRecord("size", Long.toString(size)));
      }
      byte[] data = pax.toString().getBytes(StandardCharsets.UTF_8);
      writeHeader("PaxHeaders/" + shorten(name), data.length, 'x', 0644);
      out.write(data);
      pad(data.length);
    }
    writeHeader(nameBytes.length > 100 ? shorten(name) : name, size > MAX_OCTAL_SIZE ? 0 : size, type, mode);
  }

  private static String shorten(String name) {
    return name.length() <= 80 ? name : name.substring(name.length() - 80);
  }

  /** {@code "<len> key=value\n"} where len counts the whole record, its own digits included. */
  static String paxRecord(String key, String value) {
    int body = key.getBytes(StandardCharsets.UTF_8).length + value.getBytes(StandardCharsets.UTF_8).length + 3;
    int len = body + Integer.toString(body).length();
    if (Integer.toString(len).length() != Integer.toString(body).length()) {
      len++;
    }
    return len + " " + key + "=" + value + "\n";
  }

  private void writeHeader(String name, long size, char type, int mode) throws IOException {
    byte[] h = new byte[BLOCK];
    put(h, 0, 100, name.getBytes(StandardCharsets.UTF_8));
    octal(h, 100, 8, mode);
    octal(h, 108, 8, 0);
    octal(h, 116, 8, 0);
    octal(h, 124, 12, size);
    octal(h, 136, 12, 0);
    Arrays.fill(h, 148, 156, (byte) ' ');
    h[156] = (byte) type;
    put(h, 257, 6, "ustar\0".getBytes(StandardCharsets.US_ASCII));
    put(h, 263, 2, "00".getBytes(StandardCharsets.US_ASCII));
    long sum = 0;
    for (byte b : h) {
      sum += b & 0xff;
    }
    byte[] chk = String.format("%06o\0 ", sum).getBytes(StandardCharsets.US_ASCII);
    put(h, 148, 8, chk);
    out.write(h);
  }

  private static void put(byte[] h, int off, int len, byte[] value) {
    System.arraycopy(value, 0, h, off, Math.min(len, value.length));
  }

  private static void octal(byte[] h, int off, int len, long v) {
    String s = String.format("%0" + (len - 1) + "o", v);
    put(h, off, len - 1, s.getBytes(StandardCharsets.US_ASCII));
  }

  private void pad(long size) throws IOException {
    int rest = (int) (size % BLOCK);
    if (rest != 0) {
      out.write(new byte[BLOCK - rest]);
    }
  }
}
