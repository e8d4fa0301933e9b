package dev.ociproxy.it;

import static dev.ociproxy.it.ItFixtures.random;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ociproxy.it.support.ProcessGuard;
import dev.ociproxy.it.support.ProxyProcess;
import dev.ociproxy.it.support.RegistryPush;
import dev.ociproxy.it.support.UpstreamRegistry;
import dev.ociproxy.testing.HostileRegistry;
import dev.ociproxy.testing.Lie;
import dev.ociproxy.testing.OciJson;
import dev.ociproxy.testing.RawHttpClient;
import dev.ociproxy.testing.S3Server;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.jclouds.blobstore.BlobStore;
import org.jclouds.blobstore.domain.StorageMetadata;
import org.jclouds.blobstore.options.ListContainerOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Three replicas of the real jar, each with its own local disk, sharing one bucket on a real S3 API
 * (s3proxy), in front of Debian's docker-registry and the hostile upstream: what one replica
 * verified another serves from the store with the upstream off, nothing a lying upstream sent ever
 * reaches the bucket, an object tampered with in the bucket is refused and not kept, and metadata
 * written into the bucket by hand cannot make one upstream serve what another served.
 */
@ExtendWith(ProcessGuard.class)
class SharedStoreIT {
  private static final String BUCKET = "fleet";
  private static final String REAL = "real.test";
  private static final String HOSTILE = "hostile.test";
  private static final String STORE_SECRET = "shared-store-it-secret-0123456789abcdef";

  static S3Server s3;
  static UpstreamRegistry registry;
  static HostileRegistry hostile;
  static ProxyProcess a;
  static ProxyProcess b;
  static ProxyProcess c;

  @BeforeAll
  static void start() {
    assumeTrue(ProxyProcess.availability().available(), ProxyProcess.availability().reason());
    assumeTrue(
        UpstreamRegistry.availability().available(), UpstreamRegistry.availability().reason());
    s3 = S3Server.start(BUCKET);
    registry = UpstreamRegistry.startOpen();
    hostile = HostileRegistry.start();
    a = replica();
    b = replica();
    c = replica();
  }

  private static ProxyProcess replica() {
    return ProxyProcess.builder()
        .upstream(REAL, registry.url())
        .upstream(HOSTILE, hostile.url())
        .env("STORE_SECRET", STORE_SECRET)
        .extraYaml(
            S3Server.storageYaml(
                s3.endpoint().toString(),
                BUCKET,
                "prefix: \"cache/\"",
                "secret: \"${STORE_SECRET}\""))
        .start();
  }

  @AfterAll
  static void stop() {
    for (ProxyProcess p : new ProxyProcess[] {a, b, c}) {
      if (p != null) {
        p.close();
      }
    }
    if (registry != null) {
      registry.close();
    }
    if (hostile != null) {
      hostile.close();
    }
    if (s3 != null) {
      s3.close();
    }
  }

  @Test
  void anImagePulledThroughReplicaAIsServedByReplicaCFromTheStoreByteForByteWithTheUpstreamOff()
      throws Exception {
    String repo = "fleet/app";
    byte[] config = OciJson.config(repo);
    byte[] small = random(3 << 20, 11);
    byte[] big = random(20 << 20, 12); // over one 16 MiB part: a multipart upload
    for (byte[] blob : List.of(config, small, big)) {
      RegistryPush.blob(registry, repo, blob);
    }
    byte[] manifest =
        OciJson.manifest(
            OciJson.sha256(config),
            config.length,
            new OciJson.Descriptor(OciJson.LAYER_TAR_GZIP, OciJson.sha256(small), small.length),
            new OciJson.Descriptor(OciJson.LAYER_TAR_GZIP, OciJson.sha256(big), big.length));
    RegistryPush.manifest(registry, repo, "v1", OciJson.IMAGE_MANIFEST, manifest);

    long t0 = System.nanoTime();
    pull(a, REAL + "/" + repo, manifest, config, small, big);
    long cold = System.nanoTime() - t0;
    awaitInBucket(manifest, config, small, big);
    registry.stop();
    try {
      t0 = System.nanoTime();
      pull(c, REAL + "/" + repo, manifest, config, small, big);
      long fromStore = System.nanoTime() - t0;
      t0 = System.nanoTime();
      pull(c, REAL + "/" + repo, manifest, config, small, big);
      long local = System.nanoTime() - t0;
      double mib = (config.length + small.length + big.length) / 1048576.0;
      System.out.printf( // measured, not asserted: the figures of the shared form
          "SharedStoreIT: %.1f MiB image: cold through A %.0f MiB/s, through C from the store"
              + " %.0f MiB/s, again through C from its local tier %.0f MiB/s%n",
          mib, mib / (cold / 1e9), mib / (fromStore / 1e9), mib / (local / 1e9));
      PrometheusText metrics = metrics(c);
      assertThat(
              metrics.sum("registry_proxy_blob_bytes_total", "upstream", REAL, "source", "store"))
          .isEqualTo(config.length + small.length + big.length);
      assertThat(
              metrics.sum(
                  "registry_proxy_blob_bytes_total", "upstream", REAL, "source", "upstream"))
          .isZero();
      CacheAssertions.assertCached(c.cacheDir(), "blobs", OciJson.sha256(big));
    } finally {
      registry.start();
    }
  }

  @Test
  void aLyingUpstreamLeavesNothingOfTheLieInTheBucketThroughAnyReplica() throws Exception {
    HostileRegistry.Image image = hostile.putImage("lies/app", "v1", random(2 << 20, 21));
    String layer = image.layerDigests().get(0);
    byte[] other = OciJson.config("substituted");
    String otherManifest =
        hostile.putManifest(
            "lies/app",
            OciJson.IMAGE_MANIFEST,
            OciJson.manifest(hostile.putBlob("lies/app", other), other.length));
    hostile.lie(layer, Lie.FLIP_LAST_BYTE);
    hostile.lie(image.configDigest(), Lie.WRONG_BODY);
    hostile.lie(otherManifest, Lie.MANIFEST_BY_DIGEST_SUBSTITUTED);
    try {
      for (ProxyProcess p : List.of(a, b, c)) {
        String base = "/v2/" + HOSTILE + "/lies/app/";
        assertThat(get(p, base + "manifests/v1").status()).isEqualTo(200);
        CacheAssertions.assertNoWholeSuccess(get(p, base + "blobs/" + layer));
        CacheAssertions.assertNoWholeSuccess(get(p, base + "blobs/" + image.configDigest()));
        CacheAssertions.assertNoWholeSuccess(get(p, base + "manifests/" + otherManifest));
      }
    } finally {
      hostile.honest();
    }
    Thread.sleep(2_000); // uploads run after publication; give any stray one time to land

    List<String> keys = new ArrayList<>();
    BlobStore objects = s3.blobStore();
    for (StorageMetadata o : objects.list(BUCKET, ListContainerOptions.Builder.recursive())) {
      String key = o.getName();
      keys.add(key);
      String[] parts = key.split("/");
      if (key.startsWith("cache/blobs/") || key.startsWith("cache/manifests/")) {
        assertThat(CacheAssertions.sha256(read(key)))
            .as("%s hashes to its name", key)
            .isEqualTo(parts[2] + ":" + parts[3]);
      }
    }
    assertThat(keys)
        .contains("cache/manifests/sha256/" + hex(image.manifestDigest()))
        .doesNotContain(
            "cache/blobs/sha256/" + hex(layer),
            "cache/blobs/sha256/" + hex(image.configDigest()),
            "cache/manifests/sha256/" + hex(otherManifest));
  }

  @Test
  void anObjectTamperedWithInTheBucketIsRefusedAndNotCopiedToTheLocalTier() throws Exception {
    byte[] layerBytes = random(1 << 20, 31);
    HostileRegistry.Image image = hostile.putImage("tamper/app", "v1", layerBytes);
    String layer = image.layerDigests().get(0);
    String base = "/v2/" + HOSTILE + "/tamper/app/";
    assertThat(get(a, base + "manifests/v1").status()).isEqualTo(200);
    RawHttpClient.Response fromA = get(a, base + "blobs/" + layer);
    assertThat(fromA.status()).isEqualTo(200);
    assertThat(fromA.body()).isEqualTo(layerBytes);
    String key = "cache/blobs/sha256/" + hex(layer);
    ItFixtures.await(
        "the layer in the bucket",
        Duration.ofSeconds(30),
        () -> s3.blobStore().blobExists(BUCKET, key));
    byte[] tampered = layerBytes.clone();
    tampered[tampered.length - 1] ^= 1; // only the last byte: all before it looks right
    s3.blobStore().putBlob(BUCKET, s3.blobStore().blobBuilder(key).payload(tampered).build());
    try {
      assertTamperedCopyRefused(key, base, layer, tampered);
    } finally {
      s3.blobStore().removeBlob(BUCKET, key); // the other tests list the bucket
    }
  }

  @Test
  void markersWrittenByHandForAnUpstreamThatNeverServedTheDigestDoNotLetItServeIt()
      throws Exception {
    byte[] layerBytes = random(1 << 20, 41);
    String repo = "borrow/app";
    HostileRegistry.Image image = hostile.putImage(repo, "v1", layerBytes);
    String layer = image.layerDigests().get(0);
    String config = image.configDigest();
    String base = "/v2/" + HOSTILE + "/" + repo + "/";
    assertThat(get(a, base + "manifests/v1").status()).isEqualTo(200);
    assertThat(get(a, base + "blobs/" + layer).body()).isEqualTo(layerBytes);
    assertThat(get(a, base + "blobs/" + config).status()).isEqualTo(200);
    List<String> written = new ArrayList<>();
    for (String d : List.of(layer, config)) {
      written.add("cache/blobs/sha256/" + hex(d));
      written.add(served(HOSTILE, d));
      written.add(link(HOSTILE, repo, d));
    }
    ItFixtures.await(
        "both blobs, their served marks and links in the bucket",
        Duration.ofSeconds(30),
        () -> written.stream().allMatch(k -> s3.blobStore().blobExists(BUCKET, k)));
    // Whoever can write the bucket, for digests Debian's registry never had: the layer gets
    // hostile.test's valid records copied to real.test's keys, the config empty markers as the
    // previous version wrote them.
    put(served(REAL, layer), read(served(HOSTILE, layer)));
    put(link(REAL, repo, layer), read(link(HOSTILE, repo, layer)));
    put(served(REAL, config), new byte[0]);
    put(link(REAL, repo, config), new byte[0]);
    double fromStoreBefore = storeBytes(b, HOSTILE);

    for (String d : List.of(layer, config)) {
      RawHttpClient.Response fromB = get(b, "/v2/" + REAL + "/" + repo + "/blobs/" + d);
      assertThat(fromB.status()).as("B asked its own upstream, which has no %s", d).isEqualTo(404);
      ItFixtures.await(
          "Debian's registry asked for " + d,
          Duration.ofSeconds(10),
          () -> registryAskedFor(repo, d));
      CacheAssertions.assertNotCached(b.cacheDir(), d);
    }
    assertThat(storeBytes(b, REAL)).isZero();
    assertThat(sum(b, "registry_proxy_shared_store_refusals_total", "kind", "served")).isEqualTo(2);
    assertThat(b.log())
        .contains("shared store: refused served s3://" + BUCKET + "/" + served(REAL, layer))
        .contains("its MAC does not match its key and body")
        .contains("shared store: refused served s3://" + BUCKET + "/" + served(REAL, config))
        .contains("it carries no MAC");

    // The same bytes under the upstream that served them: B takes them from the store.
    RawHttpClient.Response own = get(b, base + "blobs/" + layer);
    assertThat(own.status()).isEqualTo(200);
    assertThat(own.body()).isEqualTo(layerBytes);
    assertThat(storeBytes(b, HOSTILE) - fromStoreBefore).isEqualTo(layerBytes.length);
  }

  private static String served(String upstream, String digest) {
    return "cache/links/" + upstream + "/_served/sha256/" + hex(digest);
  }

  private static String link(String upstream, String repo, String digest) {
    return "cache/links/" + upstream + "/" + repo + "/_links/sha256/" + hex(digest);
  }

  private static double storeBytes(ProxyProcess p, String upstream) {
    return sum(p, "registry_proxy_blob_bytes_total", "upstream", upstream, "source", "store");
  }

  /** Whether a replica asked Debian's registry for the blob in this repository (its access log). */
  private static boolean registryAskedFor(String repo, String digest) {
    String request = "/v2/" + repo + "/blobs/" + digest + " HTTP/1.1\"";
    try {
      return java.nio.file.Files.readAllLines(registry.logFile()).stream()
          .anyMatch(l -> l.contains(request));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static void put(String key, byte[] body) {
    s3.blobStore().putBlob(BUCKET, s3.blobStore().blobBuilder(key).payload(body).build());
  }

  private static void assertTamperedCopyRefused(
      String key, String base, String layer, byte[] tampered) throws IOException {
    assertThat(get(b, base + "manifests/v1").status()).isEqualTo(200);
    RawHttpClient.Response fromB = get(b, base + "blobs/" + layer);
    CacheAssertions.assertNoWholeSuccess(fromB);
    CacheAssertions.assertNotCached(b.cacheDir(), layer);
    CacheAssertions.assertNoFileWithContent(b.cacheDir(), tampered);
    ItFixtures.await(
        "one refusal counted",
        Duration.ofSeconds(10),
        () -> sum(b, "registry_proxy_shared_store_refusals_total", "kind", "blob") == 1);
    assertThat(b.log()).contains("shared store: refused blob s3://" + BUCKET + "/" + key);
  }

  /** Pulls the image by tag through {@code p}: every answer whole, every byte as pushed. */
  private static void pull(
      ProxyProcess p, String name, byte[] manifest, byte[] config, byte[]... layers)
      throws IOException {
    RawHttpClient.Response m =
        get(p, "/v2/" + name + "/manifests/v1", "Accept: " + OciJson.IMAGE_MANIFEST);
    assertThat(m.status()).isEqualTo(200);
    assertThat(m.body()).isEqualTo(manifest);
    List<byte[]> blobs = new ArrayList<>(List.of(config));
    blobs.addAll(List.of(layers));
    for (byte[] blob : blobs) {
      RawHttpClient.Response r = get(p, "/v2/" + name + "/blobs/" + OciJson.sha256(blob));
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.complete()).isTrue();
      assertThat(r.body()).isEqualTo(blob);
    }
  }

  /** Uploads follow publication in the background: wait until all of the image is there. */
  private static void awaitInBucket(byte[] manifest, byte[]... blobs) {
    List<String> keys = new ArrayList<>();
    keys.add("cache/manifests/sha256/" + hex(OciJson.sha256(manifest)));
    for (byte[] b : blobs) {
      keys.add("cache/blobs/sha256/" + hex(OciJson.sha256(b)));
    }
    ItFixtures.await(
        "the image in the bucket",
        Duration.ofSeconds(60),
        () -> keys.stream().allMatch(k -> s3.blobStore().blobExists(BUCKET, k)));
  }

  private static byte[] read(String key) throws IOException {
    try (InputStream in = s3.blobStore().getBlob(BUCKET, key).getPayload().openStream()) {
      return in.readAllBytes();
    }
  }

  private static String hex(String digest) {
    return digest.substring(digest.indexOf(':') + 1);
  }

  private static double sum(ProxyProcess p, String name, String... labels) {
    try {
      return metrics(p).sum(name, labels);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static PrometheusText metrics(ProxyProcess p) throws IOException {
    return PrometheusText.parse(get(p, "/metrics").bodyText());
  }

  private static RawHttpClient.Response get(ProxyProcess p, String path, String... headers)
      throws IOException {
    try (RawHttpClient client = new RawHttpClient("127.0.0.1", p.port(), Duration.ofSeconds(60))) {
      return client.get(path, headers);
    }
  }
}
