package dev.ociproxy.core.cache;

import static java.nio.charset.StandardCharsets.ISO_8859_1;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A set of one-line records kept in append-only shard files, one directory of them. A record is
 * added with one {@code O_APPEND} write, so records appended at once by several threads or
 * processes (a one-shot import beside the server) do not interleave; it is found by reading its
 * shard through, so memory stays bounded however many records there are.
 *
 * <p>It replaces one empty file per record: creating a file costs an inode, which on ext4 can take
 * 200 µs, and a cold blob recorded two of them. Here a new file is created only per new shard.
 *
 * <p>A crash can leave a last line cut short, and the next record is then appended to it. Neither
 * matches a whole record as long as records have a fixed number of space-separated fields, which
 * the caller's format ensures: the joined line has more fields than any record. Records lost that
 * way cost what a lost record costs the caller (for {@link RepositoryLinks}: one more question to
 * the upstream).
 */
final class RecordLog {
  private final Path dir;

  RecordLog(Path dir) {
    this.dir = dir;
  }

  /**
   * Appends {@code record} (printable ASCII, no line break) to {@code shard}'s file (a name the
   * caller validated: two hex digits).
   */
  void add(String shard, String record) throws IOException {
    Path f = dir.resolve(shard);
    Directories.ensureParent(f);
    byte[] line = (record + "\n").getBytes(ISO_8859_1);
    try (FileChannel ch =
        FileChannel.open(
            f, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
      ByteBuffer b = ByteBuffer.wrap(line);
      while (b.hasRemaining()) {
        ch.write(b); // a regular file takes a short line in one write
      }
    }
  }

  /** True when {@code shard}'s file holds {@code record} as a line of its own. */
  boolean contains(String shard, String record) throws IOException {
    Path f = dir.resolve(shard);
    if (!FileChecks.exists(f)) {
      return false; // without the exception Files.newInputStream would throw
    }
    byte[] want = record.getBytes(ISO_8859_1);
    byte[] buf = new byte[8192];
    int matched = 0; // bytes of the current line that match so far, -1 once it cannot match
    try (InputStream in = Files.newInputStream(f)) {
      for (int n = in.read(buf); n >= 0; n = in.read(buf)) {
        for (int i = 0; i < n; i++) {
          byte b = buf[i];
          if (b == '\n') {
            if (matched == want.length) {
              return true;
            }
            matched = 0;
          } else if (matched >= 0) {
            matched = matched < want.length && want[matched] == b ? matched + 1 : -1;
          }
        }
      }
    }
    // A whole record whose line break a crash cut off is still the record.
    return matched == want.length;
  }
}
