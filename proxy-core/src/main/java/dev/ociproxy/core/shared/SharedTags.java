package dev.ociproxy.core.shared;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.ociproxy.core.cache.TagIndex;
import java.io.IOException;
import org.jspecify.annotations.Nullable;

/**
 * The shared store's tag records ({@code tags/<upstream>/<repo>/_tags/<tag>}, {@link
 * TagIndex#encode}, sealed): which digest a tag named when some replica last verified it. Each
 * replica remembers the newest record it wrote or read per tag, so an unchanged one is not written
 * again and an older one read back is ignored: a valid record replayed by whoever can write the
 * bucket cannot roll the tag back here (verifiedAt is under the MAC). Blocking reads; thread-safe.
 */
final class SharedTags {
  private final SealedRecords records;

  private final Cache<String, TagIndex.Entry> newest =
      Caffeine.newBuilder().maximumSize(100_000).executor(Runnable::run).build();

  SharedTags(SealedRecords records) {
    this.records = records;
  }

  /** Remembers a mapping verified here; false when it is the one last written or read. */
  boolean changed(String key, TagIndex.Entry e) {
    return !e.equals(newest.asMap().put(key, e));
  }

  /**
   * The record at {@code key}, or null when there is none, its MAC does not hold, it is unreadable,
   * or it is older than the newest this replica knows for the tag. One dated in the future is taken
   * as verified now: it would otherwise never go stale.
   */
  TagIndex.@Nullable Entry read(String key) throws IOException {
    byte[] body = records.read("tag", key);
    if (body == null) {
      return null;
    }
    TagIndex.Entry e;
    try {
      e = TagIndex.decode(body);
    } catch (IOException | RuntimeException ex) {
      records.refused("tag", key, "unreadable: " + ex);
      return null;
    }
    long now = System.currentTimeMillis();
    if (e.verifiedAtMillis() > now) {
      e = new TagIndex.Entry(e.digest(), e.mediaType(), now, e.askedForIndex());
    }
    TagIndex.Entry held = newest.getIfPresent(key);
    if (held != null && e.verifiedAtMillis() < held.verifiedAtMillis()) {
      return null;
    }
    newest.put(key, e);
    return e;
  }
}
