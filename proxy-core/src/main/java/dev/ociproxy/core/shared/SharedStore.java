package dev.ociproxy.core.shared;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.ociproxy.core.cache.BlobDownload;
import dev.ociproxy.core.cache.CacheIndex;
import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.cache.Mirror;
import dev.ociproxy.core.cache.TagIndex;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.verify.VerificationException;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * The shared tier ({@code storage.s3}): a {@link Mirror} that copies what this replica verified to
 * the object store, and the reads other replicas use to find it there. The bucket is shared by many
 * writers, so what comes back is trusted no more than an upstream: blobs stream through a {@link
 * BlobDownload} (hashed, published only if they verify), manifests are hashed before use, and the
 * metadata records (links, served marks, tags) count only with their MAC ({@link SealedRecords}); a
 * tag record only names a digest whose manifest must then verify. Content that does not verify is
 * refused with one log line naming the object and a metric, and is not read again for {@link
 * #REFUSAL_MEMORY}; the next verified copy overwrites it. Every store call runs on this tier's own
 * threads ({@link StoreThreads}), never on an event loop. Thread-safe.
 */
public final class SharedStore implements Mirror, AutoCloseable {
  static final Duration REFUSAL_MEMORY = Duration.ofMinutes(10);

  /** How often a blob's use is recorded in the bucket, at most ({@link Retention} reads it). */
  public static final Duration USE_RECORD_INTERVAL = Duration.ofDays(1);

  private final ObjectStore objects;
  private final SealedRecords records;
  private final SharedTags tags;
  private final ContentStore local;
  private final SharedMeters meters;
  private final long maxManifestBytes;
  private final StoreThreads io;
  private final BlobRedirects redirects;

  /**
   * Keys known to be in the bucket already (written or read here): no PUT again. Forgotten after an
   * hour, so content removed by retention meanwhile is uploaded again.
   */
  private final Cache<String, Boolean> present = expiring(200_000, Duration.ofHours(1));

  /** Blobs whose use was recorded in the last day: one small PUT per blob a day, at most. */
  private final Cache<Digest, Boolean> usedToday = expiring(100_000, USE_RECORD_INTERVAL);

  /** Digests whose stored copy was refused lately: read elsewhere, overwritten when verified. */
  private final Cache<Digest, Boolean> refused = expiring(10_000, REFUSAL_MEMORY);

  /**
   * @param mac what the metadata records are sealed with: the same in every replica
   * @param maxManifestBytes the largest manifest read back (as {@code cache.manifestMaxBytes})
   */
  public SharedStore(
      ObjectStore objects,
      RecordMac mac,
      ContentStore local,
      MeterRegistry meters,
      long maxManifestBytes) {
    this.objects = objects;
    this.local = local;
    this.meters = new SharedMeters(meters);
    this.records = new SealedRecords(objects, mac, this.meters);
    this.tags = new SharedTags(records);
    this.maxManifestBytes = maxManifestBytes;
    this.io = new StoreThreads(this.meters);
    this.redirects = new BlobRedirects(objects, local, io, this.meters);
  }

  /** The shared store on S3 ({@code storage.s3}); the SDK's classes load only when configured. */
  public static SharedStore onS3(
      S3Options options, ContentStore local, MeterRegistry meters, long maxManifestBytes) {
    return new SharedStore(
        new S3ObjectStore(options),
        new RecordMac(options.metadataSecret()),
        local,
        meters,
        maxManifestBytes);
  }

  /** Maintenance inline, as elsewhere: no common-pool wake-ups from the request path. */
  static <K, V> Cache<K, V> expiring(long max, Duration after) {
    return Caffeine.newBuilder()
        .maximumSize(max)
        .expireAfterWrite(after)
        .executor(Runnable::run)
        .<K, V>build();
  }

  public ObjectStore objects() {
    return objects;
  }

  /** Which stored blobs clients may fetch from the bucket itself ({@code storage.s3.redirect}). */
  public BlobRedirects redirects() {
    return redirects;
  }

  /** Throws when the store cannot be reached (for {@code /readyz}). */
  public void check() throws IOException {
    objects.check();
  }

  // ---- what this replica verified goes up ----

  @Override
  public void blob(Digest d) {
    io.execute(() -> commitBlob(d));
  }

  /**
   * Uploads the verified local copy (a big one in parts, completed only once all of it is in), held
   * against eviction meanwhile. Skipped when the bucket has it already at that size, unless its
   * copy was refused lately.
   */
  private void commitBlob(Digest d) {
    String key = SharedKeys.blob(d);
    Path path = local.blobPath(d);
    try (CacheIndex.Lease lease = local.index().use(path)) {
      if (lease == null || present.getIfPresent(key) != null) {
        return; // evicted already (another replica will upload it), or up there
      }
      long size = Files.size(path);
      if (refused.getIfPresent(d) == null && objects.size(key) == size) {
        present.put(key, Boolean.TRUE);
        redirects.committed(d);
        return;
      }
      objects.upload(key, path);
      present.put(key, Boolean.TRUE);
      redirects.committed(d);
      refused.invalidate(d);
      meters.uploaded(size);
    } catch (IOException | RuntimeException e) {
      meters.failed("upload", objects.describe(key), e);
    }
  }

  @Override
  public void manifest(Digest d, byte[] verified) {
    String key = SharedKeys.manifest(d);
    if (present.getIfPresent(key) == null || refused.getIfPresent(d) != null) {
      io.execute(() -> write(key, verified, false));
    }
  }

  @Override
  public void tag(String upstream, RepositoryName repo, Tag tag, TagIndex.Entry e) {
    String key = SharedKeys.tag(upstream, repo, tag);
    if (tags.changed(key, e)) {
      byte[] body = TagIndex.encode(e);
      io.execute(() -> write(key, body, true));
    }
  }

  @Override
  public void used(Digest d) {
    if (usedToday.getIfPresent(d) == null) {
      usedToday.put(d, Boolean.TRUE);
      io.execute(() -> write(SharedKeys.used(d), new byte[0], false));
    }
  }

  @Override
  public void link(String upstream, RepositoryName repo, Digest d) {
    mark(SharedKeys.link(upstream, repo, d));
  }

  @Override
  public void served(String upstream, Digest d) {
    mark(SharedKeys.served(upstream, d));
  }

  private void mark(String key) {
    if (present.getIfPresent(key) == null) {
      io.execute(() -> write(key, new byte[0], true));
    }
  }

  /** Writes a small object: sealed (a metadata record), or as it is (content, a use record). */
  private void write(String key, byte[] body, boolean sealed) {
    try {
      if (sealed) {
        records.write(key, body);
      } else {
        objects.write(key, body);
      }
      present.put(key, Boolean.TRUE);
    } catch (IOException | RuntimeException e) {
      meters.failed("write", objects.describe(key), e);
    }
  }

  // ---- what other replicas verified comes down, verified again ----

  /**
   * The stored size of {@code d} when the bucket says {@code upstream} served its bytes and lists
   * it in {@code repo} (the same rule as the local {@code RepositoryLinks}), else -1; -1 too when
   * the store fails or its copy was refused lately.
   */
  public CompletableFuture<Long> blobFor(String upstream, RepositoryName repo, Digest d) {
    if (refused.getIfPresent(d) != null) {
      return CompletableFuture.completedFuture(-1L);
    }
    return io.call(() -> linked(upstream, repo, d) ? objects.size(SharedKeys.blob(d)) : -1L, -1L);
  }

  /**
   * Streams the stored blob into {@code download} (created for its stored size), which verifies it
   * as it would an upstream's body; see {@link #refusedBlob} for what to do when it does not.
   */
  public void readBlob(BlobDownload download) {
    String key = SharedKeys.blob(download.digest());
    io.execute(
        () -> {
          InputStream in;
          try {
            in = objects.open(key);
          } catch (IOException | RuntimeException e) {
            download.onError(e);
            return;
          }
          if (in == null) {
            download.onError(new IOException(objects.describe(key) + " is gone"));
            return;
          }
          StorePump.run(in, download);
        });
  }

  /** The stored copy of {@code d} did not verify: refused, reported, not read again for now. */
  public void refusedBlob(Digest d, VerificationException v) {
    refuse("blob", d, SharedKeys.blob(d), v.getMessage());
  }

  /**
   * The stored manifest {@code d} when the bucket says {@code upstream} served it from {@code
   * repo}, hashed to {@code d}; null when it is not there, does not verify (refused), or the store
   * fails.
   */
  public CompletableFuture<byte @Nullable []> manifestFor(
      String upstream, RepositoryName repo, Digest d) {
    if (refused.getIfPresent(d) != null) {
      return CompletableFuture.completedFuture(null);
    }
    String key = SharedKeys.manifest(d);
    return io.call(
        () -> {
          if (!linked(upstream, repo, d)) {
            return null;
          }
          byte[] body = objects.read(key, (int) Math.min(maxManifestBytes, Integer.MAX_VALUE - 1));
          if (body == null) {
            return null;
          }
          Digest actual = Digest.of(d.algorithm(), body);
          if (!actual.equals(d)) {
            refuse("manifest", d, key, "got " + actual + " (" + body.length + " bytes)");
            return null;
          }
          present.put(key, Boolean.TRUE);
          return body;
        },
        null);
  }

  /**
   * The tag record another replica wrote, unless it is not sealed or is older than one this replica
   * knows ({@link SharedTags}); else null. It names a digest, which is checked later.
   */
  public CompletableFuture<TagIndex.@Nullable Entry> tagFor(
      String upstream, RepositoryName repo, Tag tag) {
    String key = SharedKeys.tag(upstream, repo, tag);
    return io.call(() -> tags.read(key), null);
  }

  private boolean linked(String upstream, RepositoryName repo, Digest d) throws IOException {
    String served = SharedKeys.served(upstream, d);
    String link = SharedKeys.link(upstream, repo, d);
    boolean ok =
        (present.getIfPresent(served) != null || records.has("served", served))
            && (present.getIfPresent(link) != null || records.has("link", link));
    if (ok) {
      present.put(served, Boolean.TRUE);
      present.put(link, Boolean.TRUE);
    }
    return ok;
  }

  private void refuse(String kind, Digest d, String key, @Nullable String detail) {
    refused.put(d, Boolean.TRUE);
    present.invalidate(key);
    redirects.refused(d);
    meters.refused(kind, objects.describe(key), "does not verify as " + d + ": " + detail);
  }

  /** Lets queued uploads finish for up to 10 s. */
  @Override
  public void close() {
    io.close();
    objects.close();
  }
}
