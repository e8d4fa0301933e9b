package dev.ociproxy.core.airgap;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.attribute.FileTime;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * Writes a POSIX tar stream with commons-compress: PAX headers for names over 100 bytes (sha512
 * blob paths) and sizes of 8 GiB or more. Entries carry mode 0644/0755, no owner and mtime 0, so
 * the same content always gives the same archive. Not thread-safe.
 */
final class TarWriter implements AutoCloseable {
  private final OutputStream raw;
  private final TarArchiveOutputStream out;
  private boolean finished;

  TarWriter(OutputStream out) {
    this.raw = out;
    this.out = new TarArchiveOutputStream(out, TarConstants.DEFAULT_RCDSIZE);
    this.out.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
    this.out.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
  }

  void directory(String name) throws IOException {
    out.putArchiveEntry(entry(name.endsWith("/") ? name : name + "/", 0));
    out.closeArchiveEntry();
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
    out.putArchiveEntry(entry(name, size));
    return new FilterOutputStream(out) {
      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len); // commons-compress refuses more than the declared size
      }

      @Override
      public void close() throws IOException {
        TarWriter.this.out.closeArchiveEntry(); // and fewer
      }
    };
  }

  /** Writes the end-of-archive marker (two zero blocks) and flushes; does not close the stream. */
  void finish() throws IOException {
    out.finish();
    out.flush();
    finished = true;
  }

  /** Closes the stream; an unfinished archive is left as it is (its caller deletes it). */
  @Override
  public void close() throws IOException {
    if (finished) {
      out.close();
    } else {
      raw.close(); // commons-compress's close would try to finish it, and fail on an open entry
    }
  }

  private static TarArchiveEntry entry(String name, long size) {
    TarArchiveEntry e = new TarArchiveEntry(name);
    e.setSize(size);
    e.setModTime(FileTime.fromMillis(0));
    e.setUserName("");
    e.setGroupName("");
    return e;
  }
}
