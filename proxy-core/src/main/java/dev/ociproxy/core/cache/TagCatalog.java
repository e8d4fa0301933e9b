package dev.ociproxy.core.cache;

import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.NavigableSet;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.BiConsumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every tag record of every upstream in the store, in name order (upstream, repository, tag), for
 * browsing what is cached. Nothing is held until the first {@link #names()}: that lists {@code
 * tags/} once (names only: reading 100,000 small files takes seconds, listing them a fraction of
 * one); from then on the {@link TagIndex}es keep it current. A record itself is read when first
 * asked for ({@link #entry}) or by {@link #fill}. Thread-safe.
 */
public final class TagCatalog {
  private static final Logger log = LoggerFactory.getLogger(TagCatalog.class);

  /**
   * A tag's name. Ordered field by field, so one repository's tags are one contiguous range that
   * starts at {@link #first}; the fields hold validated names, or "" in a probe.
   */
  public record Name(String upstream, String repository, String tag) implements Comparable<Name> {
    /** Where the range of one upstream ({@code repository} null) or one repository starts. */
    public static Name first(String upstream, @Nullable String repository) {
      return new Name(upstream, repository == null ? "" : repository, "");
    }

    @Override
    public int compareTo(Name o) {
      int c = upstream.compareTo(o.upstream);
      if (c == 0) {
        c = repository.compareTo(o.repository);
      }
      return c != 0 ? c : tag.compareTo(o.tag);
    }
  }

  /** A record once read; null until then. */
  private static final class Slot {
    volatile TagIndex.@Nullable Entry entry;

    Slot(TagIndex.@Nullable Entry entry) {
      this.entry = entry;
    }
  }

  private final Path tagsDir;
  private final ConcurrentSkipListMap<Name, Slot> names = new ConcurrentSkipListMap<>();
  private volatile boolean tracking;
  private volatile Name fillCursor = Name.first("", null);

  /**
   * @param cacheRoot the store's root; tag records live under {@code tags/}
   */
  public TagCatalog(Path cacheRoot) {
    this.tagsDir = cacheRoot.resolve("tags");
  }

  /**
   * Every tag's name, listed from disk on the first call (blocking: call it off the event loops).
   */
  public NavigableSet<Name> names() {
    if (!tracking) {
      seed();
    }
    return Collections.unmodifiableNavigableSet(names.keySet());
  }

  /** The record of {@code n}: from memory, else read from its file now; null when there is none. */
  public TagIndex.@Nullable Entry entry(Name n) {
    Slot s = names.get(n);
    if (s == null) {
      return null;
    }
    TagIndex.Entry e = s.entry;
    if (e == null) {
      e = TagIndex.load(file(n));
      if (e == null) {
        names.remove(n, s); // gone since it was listed
      } else if (s.entry == null) {
        s.entry = e;
      }
    }
    return e;
  }

  /** The record of {@code n} if it was read already, else null (never touches the disk). */
  public TagIndex.@Nullable Entry entryIfRead(Name n) {
    Slot s = names.get(n);
    return s == null ? null : s.entry;
  }

  /**
   * Calls {@code action} with every name in order and its record when read already (else null);
   * cheaper than {@link #entryIfRead} per name.
   */
  public void forEach(BiConsumer<Name, TagIndex.Entry> action) {
    names.forEach((n, s) -> action.accept(n, s.entry));
  }

  /**
   * Reads up to {@code max} records not read yet, in name order from where the last call stopped;
   * returns false once every listed record has been read.
   */
  public boolean fill(int max) {
    int read = 0;
    Name from = fillCursor;
    for (var it = names.tailMap(from, false).entrySet().iterator(); it.hasNext(); ) {
      var en = it.next();
      if (en.getValue().entry == null) {
        entry(en.getKey());
        read++;
      }
      fillCursor = en.getKey();
      if (read >= max) {
        return true;
      }
    }
    return false;
  }

  private Path file(Name n) {
    // Names come from the directory listing or from validated tags: none can leave tags/.
    return tagsDir.resolve(n.upstream()).resolve(n.repository()).resolve("_tags").resolve(n.tag());
  }

  private synchronized void seed() {
    if (tracking) {
      return;
    }
    tracking = true; // from now on put/remove apply; the listing below adds what is older
    long started = System.nanoTime();
    try (DirectoryStream<Path> upstreams = Files.newDirectoryStream(tagsDir)) {
      for (Path u : upstreams) {
        scan(u.getFileName().toString(), u, "");
      }
    } catch (IOException e) {
      log.debug("no tag records under {}: {}", tagsDir, e.toString());
    }
    log.info(
        "tag catalog: {} tag(s) listed in {} ms",
        names.size(),
        (System.nanoTime() - started) / 1_000_000);
  }

  /**
   * Lists {@code dir}, the directory of repository {@code repo} ("" at the top): its {@code _tags}
   * holds tag files, every other entry is a deeper component. Directory streams only, no stat per
   * file: a walk that stats 100,000 tag files took seconds.
   */
  private void scan(String upstream, Path dir, String repo) {
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path p : entries) {
        String name = p.getFileName().toString();
        if (name.equals("_tags")) {
          listTags(upstream, repo, p);
        } else if (RepositoryName.isValid(name)) {
          scan(upstream, p, repo.isEmpty() ? name : repo + "/" + name);
        }
      }
    } catch (NotDirectoryException e) {
      // A stray file: not part of any repository.
    } catch (IOException e) {
      log.warn("could not list the tag records under {}: {}", dir, e.toString());
    }
  }

  private void listTags(String upstream, String repo, Path tagsOfRepo) throws IOException {
    if (!RepositoryName.isValid(repo)) {
      return;
    }
    try (DirectoryStream<Path> tags = Files.newDirectoryStream(tagsOfRepo)) {
      for (Path t : tags) {
        String tag = t.getFileName().toString();
        if (Tag.isValid(
            tag)) { // temporary files of a write in progress start with '.', which no tag may
          names.putIfAbsent(new Name(upstream, repo, tag), new Slot(null));
        }
      }
    }
  }

  void put(String upstream, RepositoryName repo, Tag tag, TagIndex.Entry e) {
    if (tracking) {
      names.put(new Name(upstream, repo.value(), tag.value()), new Slot(e));
    }
  }

  void remove(String upstream, RepositoryName repo, Tag tag) {
    if (tracking) {
      names.remove(new Name(upstream, repo.value(), tag.value()));
    }
  }
}
