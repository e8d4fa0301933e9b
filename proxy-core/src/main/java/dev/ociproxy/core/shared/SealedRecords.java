package dev.ociproxy.core.shared;

import com.github.benmanes.caffeine.cache.Cache;
import java.io.IOException;
import org.jspecify.annotations.Nullable;

/**
 * The bucket's metadata records (link markers, served marks, tag records), written sealed with a
 * {@link RecordMac} and read back only if their MAC holds. Content bytes prove themselves by their
 * digest; these records say which upstream may serve which digest and what a tag names, so whoever
 * can write the bucket could otherwise make one upstream borrow another's bytes or roll a tag back.
 * A record that does not verify is absent; it is reported once per object for {@link
 * SharedStore#REFUSAL_MEMORY} (one line naming it and the refusals count), not at every read, and
 * is read again next time, so a verified rewrite is seen at once. Blocking, like the store.
 * Thread-safe.
 */
final class SealedRecords {
  /** The largest record body read (a tag record is about 200 bytes). */
  static final int MAX_BODY = 64 << 10;

  private final ObjectStore objects;
  private final RecordMac mac;
  private final SharedMeters meters;

  /** Objects reported lately: a forged or old-layout record is read often, logged once. */
  private final Cache<String, Boolean> reported;

  SealedRecords(ObjectStore objects, RecordMac mac, SharedMeters meters) {
    this.objects = objects;
    this.mac = mac;
    this.meters = meters;
    this.reported = SharedStore.expiring(10_000, SharedStore.REFUSAL_MEMORY);
  }

  void write(String key, byte[] body) throws IOException {
    objects.write(key, mac.seal(key, body));
  }

  /**
   * The body of the record at {@code key}, or null when there is none or its MAC does not hold.
   *
   * @param kind what it is, for the refusal ({@code link}, {@code served}, {@code tag})
   */
  byte @Nullable [] read(String kind, String key) throws IOException {
    byte[] stored = objects.read(key, MAX_BODY + RecordMac.OVERHEAD);
    if (stored == null) {
      return null;
    }
    byte[] body = mac.open(key, stored);
    if (body == null) {
      refused(kind, key, RecordMac.whyRefused(stored));
    }
    return body;
  }

  /** Whether a marker (an empty record) is at {@code key} with its MAC. */
  boolean has(String kind, String key) throws IOException {
    return read(kind, key) != null;
  }

  /** A record whose body is not what it should be, though its MAC held (another version). */
  void refused(String kind, String key, String why) {
    if (reported.asMap().putIfAbsent(key, Boolean.TRUE) == null) {
      meters.refused(kind, objects.describe(key), why);
    }
  }
}
