package dev.ociproxy.core.shared;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.registry.BlobSource;
import dev.ociproxy.core.registry.Manifest;
import dev.ociproxy.core.registry.MirrorOptions;
import dev.ociproxy.core.registry.PullThrough;
import dev.ociproxy.core.upstream.RequestLimits;
import dev.ociproxy.core.upstream.UpstreamOptions;
import dev.ociproxy.core.verify.VerificationException;
import dev.ociproxy.core.wiring.Upstreams;
import dev.ociproxy.testing.HostileRegistry;
import dev.ociproxy.testing.Lie;
import dev.ociproxy.testing.OciJson;
import dev.ociproxy.testing.S3Server;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.jclouds.blobstore.domain.StorageMetadata;
import org.jclouds.blobstore.options.ListContainerOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two replicas (each its own local store and S3 client) sharing one bucket on a real S3 API, in
 * front of the hostile upstream: what one verified the other serves without the upstream, and
 * nothing unverified crosses the bucket in either direction.
 */
class SharedStoreTest {
  private static final RepositoryName REPO = new RepositoryName("test/app");
  private static final String BUCKET = "fleet";
  static final String SECRET = "shared-store-test-secret-0123456789abcdef";

  @TempDir Path dirA;
  @TempDir Path dirB;
  @TempDir Path dirC;
  private final S3Server s3 = S3Server.start(BUCKET);
  private final HostileRegistry up = HostileRegistry.start();
  private final NioEventLoopGroup group = new NioEventLoopGroup(1);
  private final List<Replica> replicas = new ArrayList<>();

  /** One proxy's stack: its own disk, its own client of the shared bucket. */
  private final class Replica implements AutoCloseable {
    final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    final ContentStore store;
    final SharedStore shared;
    final Upstreams upstreams;

    Replica(Path dir) {
      store = new ContentStore(dir).open();
      shared =
          new SharedStore(
              new S3ObjectStore(S3ObjectStoreTest.options(s3, BUCKET, "cache/")),
              new RecordMac(SECRET),
              store,
              meters,
              MirrorOptions.DEFAULT_MANIFEST_MAX_BYTES);
      MirrorOptions caching =
          new MirrorOptions(
              MirrorOptions.DEFAULT_MANIFEST_MAX_BYTES,
              Duration.ofHours(1),
              Duration.ofSeconds(30),
              true,
              List.of());
      upstreams =
          Upstreams.wire(
              new Upstreams.Shared(
                  group, NioSocketChannel.class, store, meters, Integer.MAX_VALUE, shared),
              List.of(
                  new Upstreams.Spec(
                      UpstreamOptions.anonymous("up.test", URI.create(up.url())),
                      caching,
                      true,
                      RequestLimits.unlimited())));
      replicas.add(this);
    }

    PullThrough pull() {
      return upstreams.pullThrough("up.test");
    }

    /** The whole verified blob, as a client would end up with it. */
    byte[] blob(String digest) throws Exception {
      BlobSource src = get(pull().blob(REPO, Digest.parse(digest)));
      if (src instanceof BlobSource.Downloading d) {
        get(d.download().finished());
      }
      return Files.readAllBytes(store.blobPath(Digest.parse(digest)));
    }

    double counted(String name, String tag, String value) {
      Counter c = meters.find(name).tag(tag, value).counter();
      return c == null ? 0 : c.count();
    }

    @Override
    public void close() {
      upstreams.close();
      shared.close();
      store.close();
    }
  }

  @AfterEach
  void stop() {
    replicas.forEach(Replica::close);
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    up.close();
    s3.close();
  }

  @Test
  void whatOneReplicaVerifiedAnotherServesFromTheStoreByteForByteWithTheUpstreamDown()
      throws Exception {
    byte[] layer = random(3 << 20, 1);
    HostileRegistry.Image image = up.putImage(REPO.value(), "v1", layer);
    Replica a = new Replica(dirA);
    pullAll(a, image);
    awaitInBucket(image);
    up.stop();

    Replica b = new Replica(dirB);
    Manifest m = get(b.pull().manifest(REPO, new Tag("v1"), List.of()));
    assertThat(m.digest().toString()).isEqualTo(image.manifestDigest());
    assertThat(m.body()).isEqualTo(image.manifest());
    // A HEAD first, as some clients do: the stored size, no upstream needed.
    assertThat(get(b.pull().blobSize(REPO, Digest.parse(image.layerDigests().get(0)))))
        .isEqualTo(layer.length);
    assertThat(b.blob(image.layerDigests().get(0))).isEqualTo(layer);
    assertThat(b.counted("registry_proxy_blob_bytes", "source", "store")).isEqualTo(layer.length);
    assertThat(b.counted("registry_proxy_blob_bytes", "source", "upstream")).isZero();
    // Kept in B's local tier, so the next request is a local hit.
    assertThat(get(b.pull().blob(REPO, Digest.parse(image.layerDigests().get(0)))))
        .isInstanceOf(BlobSource.Cached.class);
  }

  @Test
  void aBlobTamperedWithInTheBucketIsRefusedNotKeptAndFetchedFromTheUpstreamInstead()
      throws Exception {
    byte[] layer = random(1 << 20, 2);
    HostileRegistry.Image image = up.putImage(REPO.value(), "v1", layer);
    pullAll(new Replica(dirA), image);
    awaitInBucket(image);
    String layerDigest = image.layerDigests().get(0);
    String key = "cache/" + SharedKeys.blob(Digest.parse(layerDigest));
    byte[] tampered = layer.clone();
    tampered[tampered.length - 1] ^= 1; // only the last byte: everything before it looks right
    var blobStore = s3.blobStore();
    blobStore.putBlob(BUCKET, blobStore.blobBuilder(key).payload(tampered).build());

    Replica b = new Replica(dirB);
    BlobSource src = get(b.pull().blob(REPO, Digest.parse(layerDigest)));
    assertThat(src).isInstanceOf(BlobSource.Downloading.class);
    assertThatThrownBy(() -> get(((BlobSource.Downloading) src).download().finished()))
        .hasCauseInstanceOf(VerificationException.class);
    assertThat(b.store.blobSize(Digest.parse(layerDigest))).isEqualTo(-1);
    await() // reported as the download ends, beside the client's view of it
        .atMost(Duration.ofSeconds(10))
        .until(() -> b.counted("registry_proxy_shared_store_refusals", "kind", "blob") == 1);

    // Not read from the store again for now: the upstream's verified copy, which replaces it.
    assertThat(b.blob(layerDigest)).isEqualTo(layer);
    assertThat(b.counted("registry_proxy_blob_bytes", "source", "upstream"))
        .isEqualTo(layer.length);
    await()
        .atMost(Duration.ofSeconds(20))
        .until(
            () ->
                readObject(key) != null
                    && Digest.sha256(readObject(key)).toString().equals(layerDigest));
  }

  @Test
  void aTagRecordDatedInTheFutureIsTakenAsVerifiedNowSoItStillGoesStale() throws Exception {
    HostileRegistry.Image image = up.putImage(REPO.value(), "v1", random(1000, 5));
    pullAll(new Replica(dirA), image);
    awaitInBucket(image);
    long future = System.currentTimeMillis() + Duration.ofDays(3650).toMillis();
    writeSealedTag(image.manifestDigest(), OciJson.IMAGE_MANIFEST, future);
    up.stop(); // the record is all B has to go on

    Replica b = new Replica(dirB);
    get(b.pull().manifest(REPO, new Tag("v1"), List.of()));

    var entry = b.pull().cachedTag(REPO, new Tag("v1"));
    assertThat(entry.digest().toString()).isEqualTo(image.manifestDigest());
    assertThat(entry.verifiedAtMillis()).isLessThanOrEqualTo(System.currentTimeMillis());
  }

  @Test
  void recordsOfThePreviousVersionAreIgnoredUntilAReplicaThatVerifiedTheImageSealsThemAgain()
      throws Exception {
    byte[] layer = random(1 << 20, 7);
    HostileRegistry.Image image = up.putImage(REPO.value(), "v1", layer);
    pullAll(new Replica(dirA), image);
    awaitInBucket(image);
    String tagKey = "cache/" + SharedKeys.tag("up.test", REPO, new Tag("v1"));
    await().atMost(Duration.ofSeconds(30)).until(() -> s3.blobStore().blobExists(BUCKET, tagKey));
    // What the previous version left: empty markers and a bare tag record, content as it was.
    List<String> records = new ArrayList<>();
    for (StorageMetadata o :
        s3.blobStore().list(BUCKET, ListContainerOptions.Builder.recursive())) {
      if (o.getName().startsWith("cache/links/") || o.getName().startsWith("cache/tags/")) {
        records.add(o.getName());
      }
    }
    assertThat(records).hasSizeGreaterThanOrEqualTo(5); // the tag, served marks and links
    byte[] bareTag = sealedBody(readObject(tagKey));
    for (String key : records) {
      byte[] old = key.equals(tagKey) ? bareTag : new byte[0];
      s3.blobStore().putBlob(BUCKET, s3.blobStore().blobBuilder(key).payload(old).build());
    }

    Replica b = new Replica(dirB); // upgraded, empty disk: the upstream is asked again
    pullAll(b, image);
    assertThat(b.counted("registry_proxy_blob_bytes", "source", "upstream"))
        .isGreaterThanOrEqualTo(layer.length);
    assertThat(b.counted("registry_proxy_blob_bytes", "source", "store")).isZero();
    assertThat(b.counted("registry_proxy_shared_store_refusals", "kind", "tag")).isEqualTo(1);
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () -> {
              for (String k : records) {
                byte[] now = readObject(k);
                if (!new String(now, java.nio.charset.StandardCharsets.US_ASCII)
                    .startsWith("rpmac1 ")) {
                  return false;
                }
              }
              return true;
            });
    up.stop();

    Replica c = new Replica(dirC); // and the store serves it again
    pullAll(c, image);
    assertThat(c.counted("registry_proxy_blob_bytes", "source", "store"))
        .isGreaterThanOrEqualTo(layer.length);
    assertThat(c.counted("registry_proxy_blob_bytes", "source", "upstream")).isZero();
  }

  /** The body of a sealed record: what follows the MAC's line. */
  private static byte[] sealedBody(byte[] sealed) {
    return java.util.Arrays.copyOfRange(sealed, RecordMac.OVERHEAD, sealed.length);
  }

  @Test
  void aTagsMediaTypeIsTakenFromTheVerifiedManifestNotFromTheRecord() throws Exception {
    HostileRegistry.Image image = up.putImage(REPO.value(), "v1", random(1000, 6));
    pullAll(new Replica(dirA), image);
    awaitInBucket(image);
    // Sealed by a replica with the secret, yet saying the image manifest is an index.
    writeSealedTag(image.manifestDigest(), OciJson.IMAGE_INDEX, System.currentTimeMillis());
    up.stop();

    Replica b = new Replica(dirB);
    Manifest m = get(b.pull().manifest(REPO, new Tag("v1"), List.of()));

    assertThat(m.mediaType()).isEqualTo(OciJson.IMAGE_MANIFEST);
    assertThat(b.pull().cachedTag(REPO, new Tag("v1")).mediaType())
        .isEqualTo(OciJson.IMAGE_MANIFEST);
  }

  /** A tag record for v1 as a replica holding the secret writes it, over replica A's. */
  private void writeSealedTag(String digest, String mediaType, long verifiedAt) {
    String key = SharedKeys.tag("up.test", REPO, new Tag("v1"));
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> s3.blobStore().blobExists(BUCKET, "cache/" + key));
    byte[] record =
        new RecordMac(SECRET)
            .seal(
                key,
                dev.ociproxy.core.cache.TagIndex.encode(
                    new dev.ociproxy.core.cache.TagIndex.Entry(
                        Digest.parse(digest), mediaType, verifiedAt, false)));
    s3.blobStore()
        .putBlob(BUCKET, s3.blobStore().blobBuilder("cache/" + key).payload(record).build());
  }

  @Test
  void aLyingUpstreamLeavesNothingOfTheLieInTheBucket() throws Exception {
    byte[] good = random(300_000, 3);
    byte[] lied = random(2 << 20, 4);
    HostileRegistry.Image honest = up.putImage(REPO.value(), "v1", good);
    HostileRegistry.Image lying = up.putImage(REPO.value(), "v2", lied);
    up.lie(lying.layerDigests().get(0), Lie.FLIP_LAST_BYTE);
    up.lie(lying.configDigest(), Lie.WRONG_BODY);
    Replica a = new Replica(dirA);
    pullAll(a, honest);
    get(a.pull().manifest(REPO, new Tag("v2"), List.of()));
    for (String d : List.of(lying.layerDigests().get(0), lying.configDigest())) {
      BlobSource src = get(a.pull().blob(REPO, Digest.parse(d)));
      assertThatThrownBy(() -> get(((BlobSource.Downloading) src).download().finished()))
          .isInstanceOf(ExecutionException.class);
    }
    awaitInBucket(honest);
    a.shared.close(); // every queued upload has run

    List<String> keys = new ArrayList<>();
    for (StorageMetadata o :
        s3.blobStore().list(BUCKET, ListContainerOptions.Builder.recursive())) {
      keys.add(o.getName());
      Digest named = SharedKeys.digestOf(o.getName().substring("cache/".length()));
      if (named != null) {
        assertThat(Digest.of(named.algorithm(), readObject(o.getName())))
            .as(o.getName())
            .isEqualTo(named);
      }
    }
    assertThat(keys)
        .contains("cache/" + SharedKeys.blob(Digest.parse(honest.layerDigests().get(0))))
        .doesNotContain(
            "cache/" + SharedKeys.blob(Digest.parse(lying.layerDigests().get(0))),
            "cache/" + SharedKeys.blob(Digest.parse(lying.configDigest())));
  }

  private static void pullAll(Replica r, HostileRegistry.Image image) throws Exception {
    get(r.pull().manifest(REPO, new Tag(image.tag()), List.of()));
    r.blob(image.configDigest());
    for (String layer : image.layerDigests()) {
      r.blob(layer);
    }
  }

  /** Uploads run in the background after publication: wait until the image is all there. */
  private void awaitInBucket(HostileRegistry.Image image) {
    List<String> keys = new ArrayList<>();
    keys.add(SharedKeys.manifest(Digest.parse(image.manifestDigest())));
    keys.add(SharedKeys.blob(Digest.parse(image.configDigest())));
    image.layerDigests().forEach(l -> keys.add(SharedKeys.blob(Digest.parse(l))));
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> keys.stream().allMatch(k -> s3.blobStore().blobExists(BUCKET, "cache/" + k)));
  }

  private byte[] readObject(String key) throws Exception {
    var blob = s3.blobStore().getBlob(BUCKET, key);
    if (blob == null) {
      return null;
    }
    try (InputStream in = blob.getPayload().openStream()) {
      return in.readAllBytes();
    }
  }

  private static <T> T get(CompletableFuture<T> f) throws Exception {
    return f.get(30, TimeUnit.SECONDS);
  }

  private static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }
}
