package dev.ociproxy.core.cache;

import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.NavigableMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every tag record of every upstream in the store, in name order (upstream, repository, tag), for
 * browsing what is cached. Nothing is held until the first {@link #rows()}: that reads {@code
 * tags/} once; from then on the {@link TagIndex}es keep it current. Rows are keyed by {@link
 * #key}, so one upstream's or repository's rows are one contiguous range ({@link #prefix}).
 * Thread-safe.
 */
public final class TagCatalog {
  private static final Logger log = LoggerFactory.getLogger(TagCatalog.class);

  /** One tag record. */
  public record Row(String upstream, RepositoryName repository, Tag tag, TagIndex.Entry entry) {}

  private final Path tagsDir;
  private final ConcurrentSkipListMap<String, Row> rows = new ConcurrentSkipListMap<>();
  private volatile boolean tracking;

  /** @param cacheRoot the store's root; tag records live under {@code tags/} */
  public TagCatalog(Path cacheRoot) {
    this.tagsDir = cacheRoot.resolve("tags");
  }

  /**
   * The key of a row. '\0' sorts before every character a name may hold, so an upstream's or a
   * repository's rows come before those of any longer name that starts the same way.
   */
  public static String key(String upstream, String repository, String tag) {
    return upstream + '\0' + repository + '\0' + tag;
  }

  /** The first key of the range of one upstream ({@code repository} null) or one repository. */
  public static String prefix(String upstream, String repository) {
    return repository == null ? upstream + '\0' : upstream + '\0' + repository + '\0';
  }

  /** Every row, read from disk on the first call (blocking: call it off the event loops). */
  public NavigableMap<String, Row> rows() {
    if (!tracking) {
      seed();
    }
    return Collections.unmodifiableNavigableMap(rows);
  }

  private synchronized void seed() {
    if (tracking) {
      return;
    }
    tracking = true; // from now on put/remove apply; the scan below fills in what is older
    long started = System.nanoTime();
    try (Stream<Path> upstreams = Files.list(tagsDir)) {
      upstreams.filter(Files::isDirectory).forEach(this::scan);
    } catch (IOException e) {
      log.debug("no tag records under {}: {}", tagsDir, e.toString());
    }
    log.info("tag catalog: {} tag(s) read in {} ms", rows.size(), (System.nanoTime() - started) / 1_000_000);
  }

  private void scan(Path upstreamDir) {
    String upstream = upstreamDir.getFileName().toString();
    try (Stream<Path> files = Files.walk(upstreamDir)) {
      files.filter(f -> f.getParent() != null && f.getParent().getFileName().toString().equals("_tags")
              && !f.getFileName().toString().startsWith("."))
          .forEach(f -> {
            Path repoDir = f.getParent().getParent();
            try {
              RepositoryName repo = new RepositoryName(
                  upstreamDir.relativize(repoDir).toString().replace(f.getFileSystem().getSeparator(), "/"));
              Tag tag = new Tag(f.getFileName().toString());
              TagIndex.Entry e = TagIndex.load(f);
              if (e != null) {
                merge(new Row(upstream, repo, tag, e));
              }
            } catch (RegistryException | IllegalArgumentException ex) {
              log.debug("skipping {}: {}", f, ex.toString());
            }
          });
    } catch (IOException | java.io.UncheckedIOException e) {
      log.warn("could not read the tag records under {}: {}", upstreamDir, e.toString());
    }
  }

  /** Keeps the newer of two records of one tag: a verification during the scan beats the file. */
  private void merge(Row r) {
    rows.merge(key(r.upstream(), r.repository().value(), r.tag().value()), r,
        (old, fresh) -> fresh.entry().verifiedAtMillis() >= old.entry().verifiedAtMillis() ? fresh : old);
  }

  void put(String upstream, RepositoryName repo, Tag tag, TagIndex.Entry e) {
    if (tracking) {
      rows.put(key(upstream, repo.value(), tag.value()), new Row(upstream, repo, tag, e));
    }
  }

  void remove(String upstream, RepositoryName repo, Tag tag) {
    if (tracking) {
      rows.remove(key(upstream, repo.value(), tag.value()));
    }
  }
}
