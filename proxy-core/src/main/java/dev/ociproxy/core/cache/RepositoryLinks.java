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
 * What one upstream is known to hold: which of its repositories hold a digest, and which digests'
 * bytes it has itself served (verified). The content store is shared by all upstreams (one copy per
 * digest), so this is what keeps content cached through one upstream from being handed out under
 * another.
 *
 * <p>A repository link is a hint given by the upstream itself (a verified manifest of it listing
 * the digest, a {@code HEAD} answered 200, a verified download). Hints are enough within one
 * upstream, but only for bytes it has {@linkplain #served served} itself: whatever the proxy holds
 * of an upstream's content, that upstream handed out, so a hint cannot make it hand out anything
 * its own access rules kept from the proxy. Another upstream's bytes are never served on a hint: a
 * public upstream listing a private layer's digest gets that layer only by serving the same bytes
 * itself.
 *
 * <p>Persisted as empty files {@code links/<upstream>/<repo>/_links/<alg>/<hex>} and {@code
 * links/<upstream>/_served/<alg>/<hex>} (names starting with {@code _} cannot clash with a
 * repository component). Thread-safe.
 */
public final class RepositoryLinks {
  private static final Logger log = LoggerFactory.getLogger(RepositoryLinks.class);

  private final Path dir;

  /** In-memory key: cheaper to build and hash per request than the file's path. */
  private record Key(RepositoryName repo, Digest digest) {}

  // Maintenance inline, as in TagIndex: no common-pool wake-ups from the request path.
  private final Cache<Key, Boolean> known =
      Caffeine.newBuilder().maximumSize(500_000).executor(Runnable::run).build();

  private final Cache<Digest, Boolean> served =
      Caffeine.newBuilder().maximumSize(500_000).executor(Runnable::run).build();

  private final Executor persist;
  private final String upstream;
  private final Mirror mirror;

  /** Links that are persisted on the calling thread (import, tests). */
  public RepositoryLinks(Path cacheRoot, String upstream) {
    this(cacheRoot, upstream, Runnable::run);
  }

  /**
   * @param persist where the link files are created (see {@link ContentStore#background()}): the
   *     memory knows a link at once, the file follows, off the event loop that learnt it
   */
  public RepositoryLinks(Path cacheRoot, String upstream, Executor persist) {
    this(cacheRoot, upstream, persist, Mirror.NONE);
  }

  /**
   * @param mirror told of every new link and served mark, for the other replicas
   */
  public RepositoryLinks(Path cacheRoot, String upstream, Executor persist, Mirror mirror) {
    this.dir = cacheRoot.resolve("links").resolve(upstream);
    this.persist = persist;
    this.upstream = upstream;
    this.mirror = mirror;
  }

  private Path file(RepositoryName repo, Digest d) {
    return linksOf(repo, d).resolve(d.hex());
  }

  private Path linksOf(RepositoryName repo, Digest d) {
    // Both are validated against the spec grammar, so neither can escape the directory.
    return dir.resolve(repo.value()).resolve("_links").resolve(d.algorithm().id());
  }

  private Path servedFile(Digest d) {
    return dir.resolve("_served").resolve(d.algorithm().id()).resolve(d.hex());
  }

  /**
   * True when this upstream has itself served {@code d}'s bytes and they verified (or an operator
   * imported them for it): only then may the store's copy be handed out under this upstream.
   */
  public boolean served(Digest d) {
    if (served.getIfPresent(d) != null) {
      return true;
    }
    if (FileChecks.exists(servedFile(d))) {
      served.put(d, Boolean.TRUE);
      return true;
    }
    return false;
  }

  /** Records that this upstream served {@code d}'s bytes and they verified. */
  public void addServed(Digest d) {
    if (served.getIfPresent(d) != null) {
      return;
    }
    served.put(d, Boolean.TRUE);
    persist.execute(() -> write(servedFile(d), d, "_served"));
    mirror.served(upstream, d);
  }

  public boolean has(RepositoryName repo, Digest d) {
    Key k = new Key(repo, d);
    if (known.getIfPresent(k) != null) {
      return true;
    }
    if (FileChecks.exists(file(repo, d))) {
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
    persist.execute(() -> write(file(repo, d), d, repo.value()));
    mirror.link(upstream, repo, d);
  }

  private void write(Path f, Digest d, String where) {
    try {
      Directories.ensureParent(f);
      Files.createFile(f);
    } catch (FileAlreadyExistsException e) {
      // Another request linked it first.
    } catch (IOException e) {
      log.warn("could not record {} in {}: {}", d, where, e.toString());
    }
  }
}
