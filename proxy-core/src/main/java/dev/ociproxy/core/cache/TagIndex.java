package dev.ociproxy.core.cache;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.Executor;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last verified tag → digest mapping per repository of one upstream: in memory (Caffeine) and
 * persisted as one small file per tag, {@code tags/<upstream>/<repo>/_tags/<tag>}, so it survives a
 * restart. ({@code _tags} cannot clash with a repository component, which cannot start with '_'.)
 * Thread-safe.
 */
public final class TagIndex {
  private static final Logger log = LoggerFactory.getLogger(TagIndex.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * What a tag pointed at when last verified.
   *
   * @param askedForIndex whether that request accepted index media types; a client that accepts
   *     them must not be served a single-platform manifest another client negotiated
   */
  public record Entry(
      Digest digest, String mediaType, long verifiedAtMillis, boolean askedForIndex) {}

  /** In-memory key: cheaper to build and hash per request than the file's path. */
  private record Key(RepositoryName repo, Tag tag) {}

  private final Path dir;
  // Maintenance runs on the calling thread: a hand-off to the common pool per few reads would wake
  // another thread on every core the event loops need.
  private final Cache<Key, Entry> memory =
      Caffeine.newBuilder().maximumSize(100_000).executor(Runnable::run).build();

  private final Executor persist;
  private final String upstream;
  private final TagCatalog catalog;
  private final Mirror mirror;

  /** An index that persists on the calling thread (tools, tests). */
  public TagIndex(Path cacheRoot, String upstream) {
    this(cacheRoot, upstream, Runnable::run, new TagCatalog(cacheRoot));
  }

  /** An index whose changes no {@link TagCatalog} follows. */
  public TagIndex(Path cacheRoot, String upstream, Executor persist) {
    this(cacheRoot, upstream, persist, new TagCatalog(cacheRoot));
  }

  /**
   * @param persist where the tag files are written (see {@link ContentStore#background()}): the
   *     memory is updated at once, the file soon after, off the event loop that verified the tag
   * @param catalog told of every change, so browsing what is cached needs no walk of the disk
   */
  public TagIndex(Path cacheRoot, String upstream, Executor persist, TagCatalog catalog) {
    this(cacheRoot, upstream, persist, catalog, Mirror.NONE);
  }

  /**
   * @param mirror told of every verified mapping, for the other replicas
   */
  public TagIndex(
      Path cacheRoot, String upstream, Executor persist, TagCatalog catalog, Mirror mirror) {
    this.mirror = mirror;
    this.dir = cacheRoot.resolve("tags").resolve(upstream);
    this.persist = persist;
    this.upstream = upstream;
    this.catalog = catalog;
  }

  private Path file(RepositoryName repo, Tag tag) {
    // Both are validated against the spec grammar, so neither can escape the directory.
    return dir.resolve(repo.value()).resolve("_tags").resolve(tag.value());
  }

  /** The last verified mapping, or null. */
  public @Nullable Entry get(RepositoryName repo, Tag tag) {
    return memory.get(new Key(repo, tag), k -> load(file(k.repo(), k.tag())));
  }

  /** A tag record as stored, on disk and in the shared store: a small JSON object. */
  public static byte[] encode(Entry e) {
    try {
      return JSON.writeValueAsBytes(
          Map.of(
              "digest", e.digest().toString(),
              "mediaType", e.mediaType(),
              "verifiedAt", e.verifiedAtMillis(),
              "askedForIndex", e.askedForIndex()));
    } catch (IOException ex) {
      throw new IllegalStateException(ex); // a map of strings, numbers and booleans
    }
  }

  /**
   * The record {@link #encode} wrote.
   *
   * @throws IOException or a RuntimeException (a bad digest) when it is not one
   */
  public static Entry decode(byte[] record) throws IOException {
    JsonNode n = JSON.readTree(record);
    return new Entry(
        Digest.parse(n.path("digest").asText()),
        n.path("mediaType").asText(),
        n.path("verifiedAt").asLong(),
        n.path("askedForIndex").asBoolean(true));
  }

  /** The record in {@code f}, or null when there is none or it cannot be read. */
  static @Nullable Entry load(Path f) {
    try {
      return decode(Files.readAllBytes(f));
    } catch (NoSuchFileException e) {
      return null;
    } catch (IOException | RuntimeException e) {
      log.warn("ignoring unreadable tag record {}: {}", f, e.toString());
      return null;
    }
  }

  public void put(RepositoryName repo, Tag tag, Entry e) {
    Key k = new Key(repo, tag);
    memory.put(k, e);
    catalog.put(upstream, repo, tag, e);
    persist.execute(() -> write(k, e));
    mirror.tag(upstream, repo, tag, e);
  }

  @SuppressWarnings("ReferenceEquality") // identity: an equal entry put since is a write of its own
  private void write(Key k, Entry e) {
    if (memory.getIfPresent(k) != e) {
      return; // superseded (its own write follows) or removed: writing e would bring back the past
    }
    RepositoryName repo = k.repo();
    Tag tag = k.tag();
    Path f = file(repo, tag);
    try {
      Directories.ensureParent(f);
      Path tmp =
          f.resolveSibling("." + tag.value() + "." + Thread.currentThread().getId() + ".tmp");
      Files.write(tmp, encode(e));
      Files.move(
          tmp,
          f,
          java.nio.file.StandardCopyOption.ATOMIC_MOVE,
          java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException ex) {
      log.warn("could not persist tag {}:{}: {}", repo, tag, ex.toString());
    }
  }

  /** Forgets a tag the upstream says no longer exists. */
  public void remove(RepositoryName repo, Tag tag) {
    Path f = file(repo, tag);
    memory.invalidate(new Key(repo, tag));
    catalog.remove(upstream, repo, tag);
    ContentStore.deleteQuietly(f);
  }

  /**
   * The tags of {@code repo} with a record on disk, in name order. A tag verified moments ago may
   * be missing until its file is written; temporary files (starting with '.') are skipped.
   */
  public List<String> tags(RepositoryName repo) {
    Path tagsDir = dir.resolve(repo.value()).resolve("_tags");
    if (!Files.isDirectory(tagsDir)) {
      return List.of();
    }
    TreeSet<String> out = new TreeSet<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(tagsDir)) {
      for (Path f : files) {
        String name = f.getFileName().toString();
        if (!name.startsWith(".") && Files.isRegularFile(f)) {
          out.add(name);
        }
      }
    } catch (IOException e) {
      return List.copyOf(out);
    }
    return List.copyOf(out);
  }
}
