package dev.ociproxy.core.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.RepositoryName;
import java.io.IOException;
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
 * <p>Persisted as lines of a {@link RecordLog} in {@code links/<upstream>/_log/}, sharded by the
 * digest's first two hex digits: {@code L <repo> <digest>} for a link, {@code S <digest>} for a
 * served mark (a name starting with {@code _} cannot clash with a repository component). Versions
 * before it wrote an empty file per record, {@code links/<upstream>/<repo>/_links/<alg>/<hex>} and
 * {@code links/<upstream>/_served/<alg>/<hex>}; those are still read, so an upgrade keeps what the
 * cache knew. Thread-safe.
 */
public final class RepositoryLinks {
  private static final Logger log = LoggerFactory.getLogger(RepositoryLinks.class);

  private final Path dir;
  private final RecordLog records;

  /** In-memory key: cheaper to build and hash per request than the record line. */
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
   * @param persist where the records are appended (see {@link ContentStore#background()}): the
   *     memory knows a link at once, the record follows, off the event loop that learnt it
   */
  public RepositoryLinks(Path cacheRoot, String upstream, Executor persist) {
    this(cacheRoot, upstream, persist, Mirror.NONE);
  }

  /**
   * @param mirror told of every new link and served mark, for the other replicas
   */
  public RepositoryLinks(Path cacheRoot, String upstream, Executor persist, Mirror mirror) {
    this.dir = cacheRoot.resolve("links").resolve(upstream);
    this.records = new RecordLog(dir.resolve("_log"));
    this.persist = persist;
    this.upstream = upstream;
    this.mirror = mirror;
  }

  /** The file an older version wrote for the link (read only). */
  private Path legacyFile(RepositoryName repo, Digest d) {
    // Both are validated against the spec grammar, so neither can escape the directory.
    return dir.resolve(repo.value()).resolve("_links").resolve(d.algorithm().id()).resolve(d.hex());
  }

  /** The file an older version wrote for the served mark (read only). */
  private Path legacyServedFile(Digest d) {
    return dir.resolve("_served").resolve(d.algorithm().id()).resolve(d.hex());
  }

  private static String shard(Digest d) {
    return d.hex().substring(0, 2);
  }

  private static String servedRecord(Digest d) {
    return "S " + d;
  }

  private static String linkRecord(RepositoryName repo, Digest d) {
    return "L " + repo.value() + " " + d;
  }

  private boolean recorded(Digest d, String record, Path legacy) {
    try {
      if (records.contains(shard(d), record)) {
        return true;
      }
    } catch (IOException e) {
      log.warn("could not read the links of {}: {}", upstream, e.toString());
    }
    return FileChecks.exists(legacy);
  }

  /**
   * True when this upstream has itself served {@code d}'s bytes and they verified (or an operator
   * imported them for it): only then may the store's copy be handed out under this upstream.
   */
  public boolean served(Digest d) {
    if (remembersServed(d)) {
      return true;
    }
    if (recorded(d, servedRecord(d), legacyServedFile(d))) {
      served.put(d, Boolean.TRUE);
      return true;
    }
    return false;
  }

  /** {@link #served}, from memory only: cheap, and false says nothing. */
  public boolean remembersServed(Digest d) {
    return served.getIfPresent(d) != null;
  }

  /** Records that this upstream served {@code d}'s bytes and they verified. */
  public void addServed(Digest d) {
    if (remembersServed(d)) {
      return;
    }
    served.put(d, Boolean.TRUE);
    persist.execute(() -> write(d, servedRecord(d)));
    mirror.served(upstream, d);
  }

  public boolean has(RepositoryName repo, Digest d) {
    Key k = new Key(repo, d);
    if (known.getIfPresent(k) != null) {
      return true;
    }
    if (recorded(d, linkRecord(repo, d), legacyFile(repo, d))) {
      known.put(k, Boolean.TRUE);
      return true;
    }
    return false;
  }

  /**
   * Records that the upstream confirmed {@code repo} holds {@code d}. Until its record is written
   * the link lives in memory only; a link lost to a crash costs one more question to the upstream.
   */
  public void add(RepositoryName repo, Digest d) {
    Key k = new Key(repo, d);
    if (known.getIfPresent(k) != null) {
      return;
    }
    known.put(k, Boolean.TRUE);
    persist.execute(() -> write(d, linkRecord(repo, d)));
    mirror.link(upstream, repo, d);
  }

  private void write(Digest d, String record) {
    try {
      // Two requests that learn the same link at once both append it: a duplicate line is harmless.
      records.add(shard(d), record);
    } catch (IOException e) {
      log.warn("could not record \"{}\" for {}: {}", record, upstream, e.toString());
    }
  }
}
