package dev.ociproxy.core.airgap;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ociproxy.core.cache.Directories;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.MediaTypes;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Where an export writes an OCI image layout: a directory ({@link #directory}) or a tar archive of
 * one ({@link #tar}). Blobs are copied from the cache and re-hashed on the way, so a disk fault
 * cannot travel across the gap; {@code index.json} is written last, by {@link #finish}.
 */
abstract sealed class LayoutSink implements AutoCloseable {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /** A layout at {@code output}: a tar archive when its name ends in {@code .tar}. */
  static LayoutSink open(Path output) throws IOException {
    return output.getFileName().toString().endsWith(".tar") ? new Tar(output) : new Dir(output);
  }

  /** Copies the cached blob {@code from} in, checking it is {@code d} of {@code size} bytes. */
  abstract void blob(Digest d, Path from, long size) throws IOException;

  /** Writes verified bytes (a manifest) as blob {@code d}. */
  abstract void bytes(Digest d, byte[] content) throws IOException;

  /** Writes {@code index.json} naming {@code entries}. */
  abstract void finish(List<ObjectNode> entries) throws IOException;

  @Override
  public abstract void close() throws IOException;

  /** An {@code index.json} entry. */
  static ObjectNode entry(String mediaType, Digest digest, long size, String refName) {
    ObjectNode e =
        JSON.createObjectNode()
            .put("mediaType", mediaType)
            .put("digest", digest.toString())
            .put("size", size);
    e.putObject("annotations").put(OciLayout.REF_NAME, refName);
    return e;
  }

  private static byte[] indexJson(List<JsonNode> manifests) throws IOException {
    ObjectNode root =
        JSON.createObjectNode().put("schemaVersion", 2).put("mediaType", MediaTypes.OCI_INDEX);
    ArrayNode arr = root.putArray("manifests");
    manifests.forEach(arr::add);
    return JSON.writeValueAsBytes(root);
  }

  /** A cached file whose bytes no longer match its name (disk fault); the image is not exported. */
  static final class VerifyException extends IOException {
    private static final long serialVersionUID = 1L;

    VerifyException(String message) {
      super(message);
    }
  }

  private static void verified(OciLayout.Copied c, Digest d, long size) throws VerifyException {
    if (!c.actual().equals(d) || c.size() != size) {
      throw new VerifyException(
          "blob "
              + d
              + " in the cache hashes to "
              + c.actual()
              + " ("
              + c.size()
              + " bytes), want "
              + d
              + " ("
              + size
              + " bytes); run the proxy with cache.verifyOnStart");
    }
  }

  /** A layout directory; writes each file under a temporary name and renames it into place. */
  static final class Dir extends LayoutSink {
    private final Path root;

    Dir(Path root) throws IOException {
      this.root = root;
      if (Files.exists(root) && !Files.isDirectory(root)) {
        throw new IOException(
            "--output "
                + root
                + " exists and is not a directory (use a name ending in .tar for an archive)");
      }
      if (Files.isDirectory(root) && !Files.exists(root.resolve(OciLayout.LAYOUT_FILE))) {
        try (var s = Files.list(root)) {
          if (s.findAny().isPresent()) {
            throw new IOException(
                "--output "
                    + root
                    + " is a non-empty directory without an OCI layout; refusing to write into it");
          }
        }
      }
      Files.createDirectories(root);
      Files.writeString(root.resolve(OciLayout.LAYOUT_FILE), OciLayout.LAYOUT_CONTENT);
    }

    @Override
    void blob(Digest d, Path from, long size) throws IOException {
      Path target = root.resolve(OciLayout.blobPath(d));
      if (Files.isRegularFile(target) && Files.size(target) == size) {
        return; // content-addressed: already there from an earlier export
      }
      Directories.ensureParent(target);
      Path tmp = target.resolveSibling("." + d.hex() + ".part");
      try (InputStream in = Files.newInputStream(from);
          OutputStream out = Files.newOutputStream(tmp)) {
        verified(OciLayout.copy(in, out, d), d, size);
      } catch (IOException e) {
        Files.deleteIfExists(tmp);
        throw e;
      }
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    @Override
    void bytes(Digest d, byte[] content) throws IOException {
      Path target = root.resolve(OciLayout.blobPath(d));
      Directories.ensureParent(target);
      Path tmp = target.resolveSibling("." + d.hex() + ".part");
      Files.write(tmp, content);
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    @Override
    void finish(List<ObjectNode> entries) throws IOException {
      Set<String> names = new HashSet<>();
      entries.forEach(e -> names.add(e.path("annotations").path(OciLayout.REF_NAME).asText()));
      List<JsonNode> all = new ArrayList<>();
      Path index = root.resolve(OciLayout.INDEX_FILE);
      if (Files.exists(index)) {
        for (JsonNode old : JSON.readTree(index.toFile()).path("manifests")) {
          if (!names.contains(old.path("annotations").path(OciLayout.REF_NAME).asText(null))) {
            all.add(old);
          }
        }
      }
      all.addAll(entries);
      Path tmp = root.resolve("." + OciLayout.INDEX_FILE + ".part");
      Files.write(tmp, indexJson(all));
      Files.move(tmp, index, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    @Override
    public void close() {}
  }

  /**
   * A tar archive, written to {@code NAME.part} and renamed when complete, so a failed export
   * leaves no half archive under the real name. {@code index.json} comes last and lists only images
   * whose every blob was written.
   */
  static final class Tar extends LayoutSink {
    private final Path target;
    private final Path part;
    private final TarWriter tar;
    private final Set<Digest> written = new HashSet<>();
    private final Set<String> dirs = new HashSet<>();
    private boolean finished;

    Tar(Path target) throws IOException {
      this.target = target;
      Path parent = requireNonNull(target.toAbsolutePath().getParent(), "a file has a directory");
      Files.createDirectories(parent);
      this.part = parent.resolve(target.getFileName() + ".part");
      this.tar = new TarWriter(new BufferedOutputStream(Files.newOutputStream(part), 1 << 16));
      tar.file(OciLayout.LAYOUT_FILE, OciLayout.LAYOUT_CONTENT.getBytes(StandardCharsets.UTF_8));
      tar.directory("blobs");
    }

    private void dirFor(Digest d) throws IOException {
      String dir = "blobs/" + d.algorithm().id();
      if (dirs.add(dir)) {
        tar.directory(dir);
      }
    }

    @Override
    void blob(Digest d, Path from, long size) throws IOException {
      if (!written.add(d)) {
        return;
      }
      dirFor(d);
      try (InputStream in = Files.newInputStream(from);
          OutputStream entry = tar.file(OciLayout.blobPath(d), size)) {
        verified(OciLayout.copy(in, entry, d), d, size);
      } catch (VerifyException e) {
        // The bad bytes are already in the .part file: drop the whole archive rather than ship
        // them.
        throw new IOException(e.getMessage() + "; no archive written", e);
      }
    }

    @Override
    void bytes(Digest d, byte[] content) throws IOException {
      if (written.add(d)) {
        dirFor(d);
        tar.file(OciLayout.blobPath(d), content);
      }
    }

    @Override
    void finish(List<ObjectNode> entries) throws IOException {
      tar.file(OciLayout.INDEX_FILE, indexJson(new ArrayList<>(entries)));
      tar.finish();
      finished = true;
    }

    @Override
    public void close() throws IOException {
      tar.close();
      if (finished) {
        Files.move(
            part, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } else {
        Files.deleteIfExists(part);
      }
    }
  }
}
