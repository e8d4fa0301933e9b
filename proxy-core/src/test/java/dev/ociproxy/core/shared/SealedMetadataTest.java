package dev.ociproxy.core.shared;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.cache.TagIndex;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.registry.MirrorOptions;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Whoever can write the bucket cannot make its metadata say what no replica verified: a link
 * marker, served mark or tag record counts only with a MAC over its key and body made with the
 * replicas' secret. Without one, with a wrong one, or moved to another key it is absent (reported
 * once, counted as refused), so one upstream never borrows another's bytes through the bucket and a
 * tag is not rolled back. Replicas here share one bucket in memory; the blob's bytes are right in
 * every case, so only the metadata decides.
 */
class SealedMetadataTest {
  private static final RepositoryName REPO = new RepositoryName("team/app");
  private static final byte[] BLOB = "layer bytes".getBytes(StandardCharsets.UTF_8);
  private static final Digest D = Digest.sha256(BLOB);
  private static final String OTHER_SECRET = "another-fleets-secret-0123456789abcdef";

  @TempDir Path dir;
  private final MemoryObjectStore bucket = new MemoryObjectStore();
  private final List<AutoCloseable> open = new ArrayList<>();

  /** One replica's shared tier over the common bucket, with its own local store and meters. */
  private final class Replica {
    final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    final SharedStore shared;

    Replica(String secret) {
      ContentStore local = new ContentStore(dir.resolve("r" + open.size())).open();
      shared =
          new SharedStore(
              bucket,
              new RecordMac(secret),
              local,
              meters,
              MirrorOptions.DEFAULT_MANIFEST_MAX_BYTES);
      open.add(local::close);
      open.add(shared); // closed first: it writes to the local store's neighbours no more
    }

    long blobFor(String upstream) throws Exception {
      return get(shared.blobFor(upstream, REPO, D));
    }

    TagIndex.Entry tagFor(String tag) throws Exception {
      return get(shared.tagFor("up-a", REPO, new Tag(tag)));
    }

    double refused(String kind) {
      Counter c = meters.find("registry_proxy_shared_store_refusals").tag("kind", kind).counter();
      return c == null ? 0 : c.count();
    }
  }

  @AfterEach
  void close() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  @Test
  void aServedMarkWithoutAMacIsIgnoredAndReportedOnceThoughReadAgain() throws Exception {
    bucket.put(SharedKeys.blob(D), BLOB);
    Replica writer = new Replica(SharedStoreTest.SECRET);
    writer.shared.link("up-a", REPO, D); // sealed: the upstream lists it in the repository
    awaitObject(SharedKeys.link("up-a", REPO, D));
    bucket.put(SharedKeys.served("up-a", D), new byte[0]); // as the previous version wrote it

    Replica reader = new Replica(SharedStoreTest.SECRET);
    assertThat(reader.blobFor("up-a")).isEqualTo(-1);
    assertThat(reader.blobFor("up-a")).isEqualTo(-1);
    assertThat(reader.refused("served")).isEqualTo(1);
    assertThat(reader.refused("link")).isZero();

    writer.shared.served("up-a", D); // the upstream served it to a replica: sealed, it counts
    awaitSealed(SharedKeys.served("up-a", D));
    assertThat(reader.blobFor("up-a")).isEqualTo(BLOB.length);
  }

  @Test
  void aValidServedMarkAndLinkOfUpstreamACopiedToUpstreamBsKeysAreIgnored() throws Exception {
    bucket.put(SharedKeys.blob(D), BLOB);
    Replica writer = new Replica(SharedStoreTest.SECRET);
    writer.shared.served("up-a", D);
    writer.shared.link("up-a", REPO, D);
    awaitSealed(SharedKeys.served("up-a", D));
    awaitSealed(SharedKeys.link("up-a", REPO, D));
    bucket.put(SharedKeys.served("up-b", D), bucket.get(SharedKeys.served("up-a", D)));
    bucket.put(SharedKeys.link("up-b", REPO, D), bucket.get(SharedKeys.link("up-a", REPO, D)));

    Replica reader = new Replica(SharedStoreTest.SECRET);
    assertThat(reader.blobFor("up-a")).isEqualTo(BLOB.length);
    assertThat(reader.blobFor("up-b")).isEqualTo(-1);
    assertThat(get(reader.shared.manifestFor("up-b", REPO, D))).isNull();
    assertThat(reader.refused("served")).isEqualTo(1);
  }

  @Test
  void aTagRecordWithAWrongMacIsIgnored() throws Exception {
    Digest named = Digest.sha256("manifest".getBytes(StandardCharsets.UTF_8));
    Digest other = Digest.sha256("another manifest".getBytes(StandardCharsets.UTF_8));
    String key = SharedKeys.tag("up-a", REPO, new Tag("v1"));
    Replica writer = new Replica(SharedStoreTest.SECRET);
    writer.shared.tag("up-a", REPO, new Tag("v1"), entry(named, 1_000));
    awaitSealed(key);
    String sealed = new String(bucket.get(key), StandardCharsets.UTF_8);
    bucket.put(
        key, sealed.replace(named.hex(), other.hex()).getBytes(StandardCharsets.UTF_8)); // same MAC

    Replica reader = new Replica(SharedStoreTest.SECRET);
    assertThat(reader.tagFor("v1")).isNull();
    assertThat(reader.refused("tag")).isEqualTo(1);

    bucket.put(key, TagIndex.encode(entry(other, 1_000))); // no MAC at all: the old layout
    assertThat(new Replica(SharedStoreTest.SECRET).tagFor("v1")).isNull();
  }

  @Test
  void anOlderValidTagRecordReadBackDoesNotReplaceANewerOne() throws Exception {
    Digest before = Digest.sha256("v1 last week".getBytes(StandardCharsets.UTF_8));
    Digest now = Digest.sha256("v1 today".getBytes(StandardCharsets.UTF_8));
    String key = SharedKeys.tag("up-a", REPO, new Tag("v1"));
    long t = System.currentTimeMillis() - 60_000; // t + 1 s is in the past too: not clamped
    Replica old = new Replica(SharedStoreTest.SECRET);
    old.shared.tag("up-a", REPO, new Tag("v1"), entry(before, t - Duration.ofDays(7).toMillis()));
    awaitSealed(key);
    byte[] captured = bucket.get(key);

    Replica replica = new Replica(SharedStoreTest.SECRET);
    replica.shared.tag("up-a", REPO, new Tag("v1"), entry(now, t));
    await().atMost(Duration.ofSeconds(10)).until(() -> !sameBytes(bucket.get(key), captured));
    assertThat(replica.tagFor("v1").digest()).isEqualTo(now);

    bucket.put(key, captured); // replayed by whoever can write the bucket: its MAC is valid
    assertThat(replica.tagFor("v1")).isNull();
    assertThat(replica.refused("tag")).isZero(); // not a forgery: a late write looks the same

    old.shared.tag("up-a", REPO, new Tag("v1"), entry(now, t + 1_000)); // newer again: taken
    await().atMost(Duration.ofSeconds(10)).until(() -> replica.tagFor("v1") != null);
    assertThat(replica.tagFor("v1").verifiedAtMillis()).isEqualTo(t + 1_000);
  }

  @Test
  void recordsSealedWithOneSecretAreNotAcceptedUnderAnother() throws Exception {
    bucket.put(SharedKeys.blob(D), BLOB);
    Replica writer = new Replica(OTHER_SECRET);
    writer.shared.served("up-a", D);
    writer.shared.link("up-a", REPO, D);
    writer.shared.tag("up-a", REPO, new Tag("v1"), entry(D, 1_000));
    awaitSealed(SharedKeys.served("up-a", D));
    awaitSealed(SharedKeys.link("up-a", REPO, D));
    awaitSealed(SharedKeys.tag("up-a", REPO, new Tag("v1")));

    Replica ours = new Replica(SharedStoreTest.SECRET);
    assertThat(ours.blobFor("up-a")).isEqualTo(-1);
    assertThat(ours.tagFor("v1")).isNull();
    assertThat(ours.refused("served")).isEqualTo(1);
    assertThat(ours.refused("tag")).isEqualTo(1);
    assertThat(new Replica(OTHER_SECRET).blobFor("up-a")).isEqualTo(BLOB.length);
  }

  @Test
  void theBucketKeyIsDerivedFromTheSecretSoItIsNeverThePeerPathsKey() throws Exception {
    String key = SharedKeys.served("up-a", D);
    byte[] sealed = new RecordMac(SharedStoreTest.SECRET).seal(key, new byte[0]);
    byte[] k = key.getBytes(StandardCharsets.UTF_8);
    byte[] input = java.nio.ByteBuffer.allocate(4 + k.length).putInt(k.length).put(k).array();
    byte[] derived =
        hmac(SharedStoreTest.SECRET.getBytes(StandardCharsets.UTF_8), RecordMac.CONTEXT);

    assertThat(new String(sealed, StandardCharsets.US_ASCII))
        .isEqualTo("rpmac1 " + HexFormat.of().formatHex(hmac(derived, input)) + "\n")
        .doesNotContain(
            HexFormat.of()
                .formatHex(hmac(SharedStoreTest.SECRET.getBytes(StandardCharsets.UTF_8), input)));
  }

  private static byte[] hmac(byte[] key, String input) throws Exception {
    return hmac(key, input.getBytes(StandardCharsets.UTF_8));
  }

  private static byte[] hmac(byte[] key, byte[] input) throws Exception {
    Mac m = Mac.getInstance("HmacSHA256");
    m.init(new SecretKeySpec(key, "HmacSHA256"));
    return m.doFinal(input);
  }

  private static TagIndex.Entry entry(Digest d, long verifiedAt) {
    return new TagIndex.Entry(d, "application/vnd.oci.image.manifest.v1+json", verifiedAt, false);
  }

  /** Writes run on the tier's threads: wait until the object is there. */
  private void awaitObject(String key) {
    await().atMost(Duration.ofSeconds(10)).until(() -> bucket.objects.containsKey(key));
  }

  private void awaitSealed(String key) {
    await()
        .atMost(Duration.ofSeconds(10))
        .until(
            () ->
                bucket.objects.containsKey(key)
                    && new String(bucket.get(key), StandardCharsets.US_ASCII)
                        .startsWith("rpmac1 "));
  }

  private static boolean sameBytes(byte[] a, byte[] b) {
    return java.util.Arrays.equals(a, b);
  }

  private static <T> T get(CompletableFuture<T> f) throws Exception {
    return f.get(10, TimeUnit.SECONDS);
  }
}
