package dev.ociproxy.core.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.RepositoryName;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which repositories of one upstream are known to hold a digest. The content store is shared by all
 * upstreams (one copy per digest), so this is what keeps a blob cached through one upstream or
 * repository from being handed out under another one the upstream never confirmed — the way a
 * private upstream's layers would otherwise leak through a public one. Persisted as empty files
 * {@code links/<upstream>/<repo>/_links/<alg>/<hex>} ({@code _links} cannot clash with a repository
 * component). Thread-safe.
 */
public final class RepositoryLinks {
  private static final Logger log = LoggerFactory.getLogger(RepositoryLinks.class);

  private final Path dir;

  /** In-memory key: cheaper to build and hash per request than the file's path. */
  private record Key(RepositoryName repo, Digest digest) {}

  // Maintenance inline, as in TagIndex: no common-pool wake-ups from the request path.
  private final Cache<Key, Boolean> known =
      Caffeine.newBuilder().maximumSize(500_000).executor(Runnable::run).build();

  private final Executor persist;

  /** Links that are persisted on the calling thread (import, tests). */
  public RepositoryLinks(Path cacheRoot, String upstream) {
    this(cacheRoot, upstream, Runnable::run);
  }

  /**
   * @param persist where the link files are created (see {@link ContentStore#background()}): the
   *     memory knows a link at once, the file follows, off the event loop that learnt it
   */
  public RepositoryLinks(Path cacheRoot, String upstream, Executor persist) {
    this.dir = cacheRoot.resolve("links").resolve(upstream);
    this.persist = persist;
  }

  private Path file(RepositoryName repo, Digest d) {
    return linksOf(repo, d).resolve(d.hex());
  }

  private Path linksOf(RepositoryName repo, Digest d) {
    // Both are validated against the spec grammar, so neither can escape the directory.
    return dir.resolve(repo.value()).resolve("_links").resolve(d.algorithm().id());
  }

  public boolean has(RepositoryName repo, Digest d) {
    Key k = new Key(repo, d);
    if (known.getIfPresent(k) != null) {
      return true;
    }
    if (Files.exists(file(repo, d))) {
      known.put(k, Boolean.TRUE);
      return true;
    }
    return false;
  }

  /**
   * Records that the upstream confirmed {@code repo} holds {@code d}. Until its file is written the
   * link lives in memory only; a link lost to a crash costs one more question to the upstream.
   */
  public void add(RepositoryName repo, Digest d) {
    Key k = new Key(repo, d);
    if (known.getIfPresent(k) != null) {
      return;
    }
    known.put(k, Boolean.TRUE);
    persist.execute(() -> write(repo, d));
  }

  private void write(RepositoryName repo, Digest d) {
    Path links = linksOf(repo, d);
    Path f = links.resolve(d.hex());
    try {
      if (!Files.isDirectory(links)) {
        Files.createDirectories(links);
      }
      Files.createFile(f);
    } catch (FileAlreadyExistsException e) {
      // Another request linked it first.
    } catch (IOException e) {
      log.warn("could not record {} in {}: {}", d, repo, e.toString());
    }
  }
}
