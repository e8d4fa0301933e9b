package dev.ociproxy.core.airgap;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * Reads a tar stream entry by entry: ustar, GNU (long names, base-256 sizes) and PAX extended
 * headers, as written by skopeo, GNU tar and {@link TarWriter}. Names are normalised (a leading
 * {@code ./} or {@code /} is dropped). Headers with a bad checksum end the archive with an error
 * rather than being guessed at. Not thread-safe.
 */
final class TarReader {
  private static final int BLOCK = 512;

  /** One entry; {@code type} is the tar type flag ({@code '0'} file, {@code '5'} directory, …). */
  record Entry(String name, char type, long size) {
    boolean isFile() {
      return type == '0' || type == '\0' || type == '7';
    }
  }

  private final InputStream in;
  private long remaining;
  private long padding;
  private long offset;

  TarReader(InputStream in) {
    this.in = in;
  }

  /** The next entry, or null at the end of the archive; skips what is left of the current one. */
  Entry next() throws IOException {
    skip(remaining + padding);
    remaining = 0;
    padding = 0;
    String longName = null;
    String paxPath = null;
    long paxSize = -1;
    while (true) {
      byte[] h = new byte[BLOCK];
      if (!readBlock(h)) {
        return null;
      }
      if (isZero(h)) {
        return null;
      }
      long headerAt = offset - BLOCK;
      verifyChecksum(h, headerAt);
      char type = (char) h[156];
      long size = parseNumber(h, 124, 12, headerAt);
      if (type == 'L' || type == 'x' || type == 'g' || type == 'K') {
        byte[] data = readData(size, headerAt);
        if (type == 'L') {
          longName = cString(data, 0, data.length);
        } else if (type == 'x') {
          for (String[] kv : paxRecords(data, headerAt)) {
            if (kv[0].equals("path")) {
              paxPath = kv[1];
            } else if (kv[0].equals("size")) {
              paxSize = Long.parseLong(kv[1]);
            }
          }
        }
        continue;
      }
      String name = cString(h, 0, 100);
      if (new String(h, 257, 5, StandardCharsets.US_ASCII).equals("ustar")) {
        String prefix = cString(h, 345, 155);
        if (!prefix.isEmpty()) {
          name = prefix + "/" + name;
        }
      }
      if (longName != null) {
        name = longName;
      }
      if (paxPath != null) {
        name = paxPath;
      }
      if (paxSize >= 0) {
        size = paxSize;
      }
      remaining = size;
      padding = (BLOCK - size % BLOCK) % BLOCK;
      return new Entry(normalise(name), type, size);
    }
  }

  /** The current entry's content; reading past its end returns -1. */
  InputStream content() {
    return new InputStream() {
      @Override
      public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        if (remaining <= 0) {
          return -1;
        }
        int n = in.read(b, off, (int) Math.min(len, remaining));
        if (n < 0) {
          throw new EOFException("tar archive ends inside an entry");
        }
        remaining -= n;
        offset += n;
        return n;
      }
    };
  }

  static String normalise(String name) {
    String n = name;
    while (n.startsWith("./") || n.startsWith("/")) {
      n = n.startsWith("./") ? n.substring(2) : n.substring(1);
    }
    return n;
  }

  private byte[] readData(long size, long headerAt) throws IOException {
    if (size > 1 << 20) {
      throw new IOException("tar header at byte " + headerAt + ": extended header of " + size + " bytes");
    }
    byte[] data = new byte[(int) size];
    readFully(data);
    skip((BLOCK - size % BLOCK) % BLOCK);
    return data;
  }

  private static java.util.List<String[]> paxRecords(byte[] data, long headerAt) throws IOException {
    java.util.List<String[]> out = new java.util.ArrayList<>();
    int pos = 0;
    while (pos < data.length) {
      int space = indexOf(data, (byte) ' ', pos);
      if (space < 0) {
        break;
      }
      int len;
      try {
        len = Integer.parseInt(new String(data, pos, space - pos, StandardCharsets.US_ASCII));
      } catch (NumberFormatException e) {
        throw new IOException("tar PAX header at byte " + headerAt + " is malformed");
      }
      if (len <= 0 || pos + len > data.length) {
        throw new IOException("tar PAX header at byte " + headerAt + " is malformed");
      }
      String rec = new String(data, space + 1, pos + len - space - 2, StandardCharsets.UTF_8);
      int eq = rec.indexOf('=');
      if (eq > 0) {
        out.add(new String[] {rec.substring(0, eq), rec.substring(eq + 1)});
      }
      pos += len;
    }
    return out;
  }

  private static int indexOf(byte[] a, byte b, int from) {
    for (int i = from; i < a.length; i++) {
      if (a[i] == b) {
        return i;
      }
    }
    return -1;
  }

  private static void verifyChecksum(byte[] h, long headerAt) throws IOException {
    long stored;
    try {
      stored = parseNumber(h, 148, 8, headerAt);
    } catch (IOException e) {
      stored = -1;
    }
    long unsigned = 0;
    long signed = 0;
    for (int i = 0; i < BLOCK; i++) {
      byte b = i >= 148 && i < 156 ? (byte) ' ' : h[i];
      unsigned += b & 0xff;
      signed += b;
    }
    if (stored != unsigned && stored != signed) {
      throw new IOException("tar header at byte " + headerAt + " has a bad checksum (not a tar archive, or corrupt)");
    }
  }

  private static long parseNumber(byte[] h, int off, int len, long headerAt) throws IOException {
    if ((h[off] & 0x80) != 0) {
      long v = h[off] & 0x7f;
      for (int i = 1; i < len; i++) {
        v = (v << 8) | (h[off + i] & 0xff);
      }
      return v;
    }
    String s = cString(h, off, len).trim();
    if (s.isEmpty()) {
      return 0;
    }
    try {
      return Long.parseLong(s, 8);
    } catch (NumberFormatException e) {
      throw new IOException("tar header at byte " + headerAt + ": bad number '" + s + "'");
    }
  }

  private static String cString(byte[] b, int off, int len) {
    int end = off;
    while (end < off + len && b[end] != 0) {
      end++;
    }
    return new String(b, off, end - off, StandardCharsets.UTF_8);
  }

  private static boolean isZero(byte[] h) {
    for (byte b : h) {
      if (b != 0) {
        return false;
      }
    }
    return true;
  }

  private boolean readBlock(byte[] h) throws IOException {
    int n = 0;
    while (n < h.length) {
      int r = in.read(h, n, h.length - n);
      if (r < 0) {
        if (n == 0) {
          return false;
        }
        throw new EOFException("tar archive ends inside a header");
      }
      n += r;
    }
    offset += n;
    return true;
  }

  private void readFully(byte[] b) throws IOException {
    int n = 0;
    while (n < b.length) {
      int r = in.read(b, n, b.length - n);
      if (r < 0) {
        throw new EOFException("tar archive ends inside an entry");
      }
      n += r;
    }
    offset += n;
  }

  private void skip(long n) throws IOException {
    byte[] buf = new byte[8192];
    long left = n;
    while (left > 0) {
      int r = in.read(buf, 0, (int) Math.min(buf.length, left));
      if (r < 0) {
        throw new EOFException("tar archive ends inside an entry");
      }
      left -= r;
      offset += r;
    }
  }
}
