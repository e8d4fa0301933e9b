package dev.ociproxy.core.shared;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Which blobs of the shared store have not been used since a given time, and their removal. A
 * blob's last use is the later of its upload and its {@code used/} record, which replicas rewrite
 * (at most daily, {@link SharedStore#USE_RECORD_INTERVAL}) whenever they hand it out, from their
 * local tier or from the store. So "not used since T" is exact to within a day. Manifests, tag
 * records and links are small and left to the bucket's lifecycle rules (README, Retention).
 */
public final class Retention {
  /** A blob and when it was last used. */
  public record Unused(String key, long size, Instant lastUsed) {}

  private final ObjectStore objects;

  public Retention(ObjectStore objects) {
    this.objects = objects;
  }

  /** Every blob whose last use is before {@code since}, oldest first. */
  public List<Unused> unusedSince(Instant since) throws IOException {
    Map<String, Instant> used = new HashMap<>();
    for (ObjectStore.Listed u : objects.list(SharedKeys.USED)) {
      used.put(u.key().substring(SharedKeys.USED.length()), u.lastModified());
    }
    List<Unused> out = new ArrayList<>();
    for (ObjectStore.Listed b : objects.list(SharedKeys.BLOBS)) {
      Instant mark = used.get(b.key().substring(SharedKeys.BLOBS.length()));
      Instant last = mark != null && mark.isAfter(b.lastModified()) ? mark : b.lastModified();
      if (last.isBefore(since)) {
        out.add(new Unused(b.key(), b.size(), last));
      }
    }
    out.sort((x, y) -> x.lastUsed().compareTo(y.lastUsed()));
    return out;
  }

  /**
   * Removes a blob and its use record. A replica reading it at that moment fails that read (its
   * client gets no whole success) and fetches it from the upstream on the next request.
   */
  public void remove(Unused u) throws IOException {
    objects.delete(u.key());
    objects.delete(SharedKeys.USED + u.key().substring(SharedKeys.BLOBS.length()));
  }
}
