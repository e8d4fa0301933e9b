package dev.ociproxy.core.airgap;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.apache.commons.compress.archivers.tar.TarUtils;
import org.jspecify.annotations.Nullable;

/**
 * Our policy over commons-compress's tar parsing (ustar, GNU and PAX): only regular files come out,
 * streamed, under names with any leading {@code ./} dropped. Directories and links that stay inside
 * the archive are skipped; an absolute name, a {@code ..} that climbs out, a link pointing outside,
 * a device or fifo ends the archive with an error, as does a header with a bad checksum (which
 * commons-compress would only flag). Extended headers are capped so a hostile one cannot fill the
 * heap. Not thread-safe.
 */
final class TarReader {
  private static final int MAX_EXTENDED_HEADER = 1 << 20;

  /**
   * A regular file of the archive; its bytes are {@link #content()} until the next call to next.
   */
  record Entry(String name, long size) {}

  private final Checked in;

  TarReader(InputStream in) {
    this.in = new Checked(in);
  }

  /** The next regular file, or null at the end of the archive. */
  @Nullable Entry next() throws IOException {
    for (TarArchiveEntry e; (e = in.getNextEntry()) != null; ) {
      String name = normalise(e.getName());
      byte type = e.getLinkFlag();
      if (name.startsWith("/")) {
        throw refused(e, "an absolute name");
      } else if (climbsOut(name)) {
        throw refused(e, "its .. leaves the archive");
      } else if (e.isSymbolicLink() || e.isLink()) {
        String target = e.getLinkName();
        String base =
            e.isSymbolicLink() && name.contains("/")
                ? name.substring(0, name.lastIndexOf('/') + 1)
                : "";
        if (target.startsWith("/") || climbsOut(base + target)) {
          throw refused(e, "a link to " + target + ", outside the archive");
        }
      } else if (type == TarConstants.LF_NORMAL
          || type == TarConstants.LF_OLDNORM
          || type == TarConstants.LF_CONTIG) {
        if (!name.isEmpty() && !name.endsWith("/")) {
          return new Entry(name, e.getSize());
        }
      } else if (type != TarConstants.LF_DIR) {
        throw refused(e, "not a regular file (type '" + (char) type + "')");
      }
    }
    return null;
  }

  /** The current entry's content; reading past its end returns -1. */
  InputStream content() {
    return new FilterInputStream(in) {
      @Override
      public void close() {
        // the archive goes on: only the caller of next() is done with this entry
      }
    };
  }

  static String normalise(String name) {
    String n = name;
    while (n.startsWith("./")) {
      n = n.substring(2);
    }
    return n;
  }

  /** Whether a relative path's {@code ..} segments lead above where it starts. */
  private static boolean climbsOut(String path) {
    int depth = 0;
    for (String segment : path.split("/")) {
      if (segment.equals("..")) {
        if (--depth < 0) {
          return true;
        }
      } else if (!segment.isEmpty() && !segment.equals(".")) {
        depth++;
      }
    }
    return false;
  }

  private IOException refused(TarArchiveEntry e, String why) {
    return new IOException(
        "tar entry " + e.getName() + " (header at byte " + in.headerAt + ") refused: " + why);
  }

  /** Checks each header block as commons-compress reads it, before it acts on it. */
  private static final class Checked extends TarArchiveInputStream {
    long headerAt;

    Checked(InputStream in) {
      super(in);
    }

    @Override
    protected byte[] readRecord() throws IOException {
      headerAt = getBytesRead();
      byte[] h = super.readRecord();
      if (h == null || isEOFRecord(h)) {
        return h;
      }
      if (!checksumOk(h)) {
        throw new IOException(
            "tar header at byte "
                + headerAt
                + " has a bad checksum (not a tar archive, or corrupt)");
      }
      byte type = h[156]; // ustar: the type flag, after name, mode, uid, gid, size, mtime, checksum
      if (type == TarConstants.LF_PAX_EXTENDED_HEADER_LC
          || type == TarConstants.LF_PAX_GLOBAL_EXTENDED_HEADER
          || type == TarConstants.LF_GNUTYPE_LONGNAME
          || type == TarConstants.LF_GNUTYPE_LONGLINK) {
        long size = TarUtils.parseOctalOrBinary(h, 124, 12);
        if (size > MAX_EXTENDED_HEADER) {
          throw new IOException(
              "tar header at byte " + headerAt + ": extended header of " + size + " bytes");
        }
      }
      return h;
    }

    private static boolean checksumOk(byte[] h) {
      try {
        return TarUtils.verifyCheckSum(h);
      } catch (IllegalArgumentException e) {
        return false; // not even a number where the checksum goes
      }
    }
  }
}
