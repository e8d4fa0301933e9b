package dev.ociproxy.core.airgap;

import static java.util.Objects.requireNonNull;

import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.oci.Digest;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * An OCI layout being imported, directory or tar, whose blobs are "staged": copied into the store's
 * {@code tmp/} while hashed, so that what is later published is exactly the bytes that were hashed
 * (the source cannot change under us). A blob the store already has is hashed but not copied. Not
 * thread-safe; {@link #close} deletes every staged file that was not published.
 */
abstract class LayoutSource implements AutoCloseable {
  /**
   * A blob of the layout as it arrived.
   *
   * @param file where its bytes are now: a temporary file of ours, or the store's own verified
   *     copy; null when they hashed to another digest than a blob the store has (nothing to read
   *     back)
   * @param actual what the bytes hash to (not necessarily the name they came under)
   */
  record Staged(@Nullable Path file, long size, Digest actual, boolean temporary) {
    /** The file of bytes that hashed to the name they came under. */
    Path verifiedFile() {
      return requireNonNull(file, "the bytes of a tampered blob are not kept");
    }
  }

  final ContentStore store;
  final Map<Digest, Staged> staged = new HashMap<>();

  LayoutSource(ContentStore store) {
    this.store = store;
  }

  /** Opens {@code input}: a layout directory, or a tar archive (read and staged at once). */
  static LayoutSource open(Path input, ContentStore store) throws IOException {
    if (Files.isDirectory(input)) {
      return new Dir(input, store);
    }
    if (!Files.isRegularFile(input)) {
      throw new IOException(input + " is neither an OCI layout directory nor a tar archive");
    }
    Tar t = new Tar(store);
    try {
      t.read(input);
      return t;
    } catch (IOException | RuntimeException e) {
      t.close();
      throw e;
    }
  }

  /** {@code oci-layout} or {@code index.json}, or null when absent. */
  abstract byte @Nullable [] metadata(String name) throws IOException;

  /** The size of blob {@code d} in the layout, or -1 when the layout does not have it. */
  abstract long size(Digest d) throws IOException;

  /** Stages blob {@code d}; null when the layout does not have it. */
  abstract @Nullable Staged stage(Digest d) throws IOException;

  /** Notes that a staged blob has been moved into the store. */
  void published(Digest d) {
    Staged s = staged.get(d);
    if (s != null) {
      staged.put(d, new Staged(store.blobPath(d), s.size(), d, false));
    }
  }

  @Override
  public void close() {
    for (Staged s : staged.values()) {
      if (s.temporary()) {
        ContentStore.deleteQuietly(s.verifiedFile());
      }
    }
    staged.clear();
  }

  /**
   * Copies {@code in} into a temporary file in the store (or only hashes it, if already stored).
   */
  Staged stageFrom(InputStream in, Digest name) throws IOException {
    if (store.blobSize(name) >= 0) {
      OciLayout.Copied c = OciLayout.copy(in, null, name);
      if (c.actual().equals(name)) {
        return new Staged(store.blobPath(name), c.size(), c.actual(), false);
      }
      return new Staged(null, c.size(), c.actual(), false); // tampered: nothing to read back
    }
    Path temp = store.newTempFile();
    try (OutputStream out = Files.newOutputStream(temp)) {
      OciLayout.Copied c = OciLayout.copy(in, out, name);
      return new Staged(temp, c.size(), c.actual(), true);
    } catch (IOException | RuntimeException e) {
      ContentStore.deleteQuietly(temp);
      throw e;
    }
  }

  /** A layout directory; blobs are staged on demand. */
  private static final class Dir extends LayoutSource {
    private final Path root;

    Dir(Path root, ContentStore store) {
      super(store);
      this.root = root;
    }

    @Override
    byte @Nullable [] metadata(String name) throws IOException {
      Path f = root.resolve(name);
      if (!Files.isRegularFile(f)) {
        return null;
      }
      if (Files.size(f) > OciLayout.MAX_METADATA_BYTES) {
        throw new IOException(name + " is larger than " + OciLayout.MAX_METADATA_BYTES + " bytes");
      }
      return Files.readAllBytes(f);
    }

    private Path file(Digest d) {
      return root.resolve(OciLayout.blobPath(d));
    }

    @Override
    long size(Digest d) throws IOException {
      Path f = file(d);
      return Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS) ? Files.size(f) : -1;
    }

    @Override
    @Nullable Staged stage(Digest d) throws IOException {
      Staged s = staged.get(d);
      if (s != null) {
        return s;
      }
      Path f = file(d);
      if (!Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
        return null;
      }
      try (InputStream in = new BufferedInputStream(Files.newInputStream(f), 1 << 16)) {
        s = stageFrom(in, d);
      }
      staged.put(d, s);
      return s;
    }
  }

  /** A tar archive; every blob entry is staged while the archive is read once, front to back. */
  private static final class Tar extends LayoutSource {
    private final Map<String, byte[]> metadata = new HashMap<>();

    Tar(ContentStore store) {
      super(store);
    }

    void read(Path archive) throws IOException {
      try (InputStream in = new BufferedInputStream(Files.newInputStream(archive), 1 << 16)) {
        TarReader tar = new TarReader(in);
        for (TarReader.Entry e; (e = tar.next()) != null; ) {
          if (e.name().equals(OciLayout.LAYOUT_FILE) || e.name().equals(OciLayout.INDEX_FILE)) {
            if (e.size() > OciLayout.MAX_METADATA_BYTES) {
              throw new IOException(
                  e.name() + " is larger than " + OciLayout.MAX_METADATA_BYTES + " bytes");
            }
            metadata.put(e.name(), tar.content().readAllBytes());
            continue;
          }
          Digest d = OciLayout.digestOfPath(e.name());
          if (d != null && !staged.containsKey(d)) {
            staged.put(d, stageFrom(tar.content(), d));
          }
        }
      }
    }

    @Override
    byte @Nullable [] metadata(String name) {
      return metadata.get(name);
    }

    @Override
    long size(Digest d) {
      Staged s = staged.get(d);
      return s == null ? -1 : s.size();
    }

    @Override
    @Nullable Staged stage(Digest d) {
      return staged.get(d);
    }
  }
}
