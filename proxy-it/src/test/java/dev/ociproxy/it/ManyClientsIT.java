package dev.ociproxy.it;

import static dev.ociproxy.it.CacheAssertions.assertCached;
import static dev.ociproxy.it.CacheAssertions.assertNoWholeSuccess;
import static dev.ociproxy.it.CacheAssertions.assertNotCached;
import static dev.ociproxy.it.ItFixtures.await;
import static dev.ociproxy.it.ItFixtures.random;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.it.support.ProxyProcess;
import dev.ociproxy.testing.HostileRegistry;
import dev.ociproxy.testing.Lie;
import dev.ociproxy.testing.RawHttpClient;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Many clients, slow and dead upstreams: one upstream fetch per cold blob, readers that tail it,
 * offline serving, back-off, the disk budget and crash recovery — all against the real jar. Timing
 * bounds are generous: this runs on a shared 2-core machine.
 */
class ManyClientsIT extends PerTestHostileUpstream {
  private static final String UP = "up.test";

  private ProxyProcess.Builder proxyBuilder() {
    return ProxyProcess.builder().upstream(UP, up.url());
  }

  private RawHttpClient.Response get(String path, String... headers) throws IOException {
    try (RawHttpClient c = new RawHttpClient("127.0.0.1", proxy.port(), Duration.ofSeconds(60))) {
      return c.get(path, headers);
    }
  }

  private Future<RawHttpClient.Response> getAsync(String path) {
    Callable<RawHttpClient.Response> c = () -> get(path);
    return pool.submit(c);
  }

  @Test
  void concurrentColdRequestsShareOneUpstreamFetch() throws Exception {
    proxy = proxyBuilder().start();
    byte[] blob = random(3_000_000, 1);
    String digest = up.putBlob("shared/repo", blob);
    String other = "shared/other";
    up.putBlob(other, blob);
    // Hold the upstream's answer until every client has asked.
    up.lie(digest, Lie.delayHeaders(Duration.ofSeconds(2)));
    List<Future<RawHttpClient.Response>> all = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      // Half ask through another repository of the same upstream: still the same blob.
      all.add(
          getAsync("/v2/" + UP + "/" + (i % 2 == 0 ? "shared/repo" : other) + "/blobs/" + digest));
    }
    for (Future<RawHttpClient.Response> f : all) {
      RawHttpClient.Response r = f.get(120, TimeUnit.SECONDS);
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.complete()).isTrue();
      assertThat(r.body()).isEqualTo(blob);
    }
    assertThat(
            up.requests("GET", "/v2/").stream()
                .filter(q -> q.path().endsWith("/blobs/" + digest))
                .count())
        .as("upstream downloads of the blob")
        .isEqualTo(1);
    // The other repository is confirmed once (a HEAD), never downloaded again.
    assertThat(up.count(null, "/v2/" + other + "/blobs/" + digest)).isLessThanOrEqualTo(1);
    assertThat(up.count(null, "/v2/shared/repo/blobs/" + digest)).isLessThanOrEqualTo(1);
    assertCached(proxy.cacheDir(), "blobs", digest);
  }

  @Test
  void lateJoinerGetsTheWholeBodyFromByteZeroWhileTheDownloadRuns() throws Exception {
    proxy = proxyBuilder().start();
    byte[] blob = random(4_000, 2);
    String digest = up.putBlob("late/repo", blob);
    up.lie(digest, Lie.trickle(Duration.ofMillis(1)));
    String path = "/v2/" + UP + "/late/repo/blobs/" + digest;
    Future<RawHttpClient.Response> first = getAsync(path);
    await(
        "the download to start",
        Duration.ofSeconds(30),
        () ->
            up.requests("GET", "/v2/late/repo/blobs/").stream()
                .anyMatch(q -> q.bodyBytesWritten() > 500));
    Future<RawHttpClient.Response> late = getAsync(path);
    RawHttpClient.Response a = first.get(120, TimeUnit.SECONDS);
    RawHttpClient.Response b = late.get(120, TimeUnit.SECONDS);
    assertThat(a.body()).isEqualTo(blob);
    assertThat(b.body()).isEqualTo(blob);
    assertThat(b.complete()).isTrue();
    assertThat(up.count("GET", "/v2/late/repo/blobs/")).isEqualTo(1);
  }

  @Test
  void lyingSharedDownloadAbortsEveryReaderAndTheNextRequestFetchesAfresh() throws Exception {
    proxy = proxyBuilder().start();
    byte[] blob = random(1_000_000, 3);
    String digest = up.putBlob("shared/lie", blob);
    up.lie(digest, Lie.delayHeaders(Duration.ofSeconds(2)), Lie.FLIP_LAST_BYTE);
    String path = "/v2/" + UP + "/shared/lie/blobs/" + digest;
    List<Future<RawHttpClient.Response>> all = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      all.add(getAsync(path));
    }
    for (Future<RawHttpClient.Response> f : all) {
      assertNoWholeSuccess(f.get(120, TimeUnit.SECONDS));
    }
    assertNotCached(proxy.cacheDir(), digest);
    int fetches = up.count("GET", "/v2/shared/lie/blobs/");
    up.unlie(digest);
    RawHttpClient.Response honest = get(path);
    assertThat(honest.body()).isEqualTo(blob);
    assertThat(up.count("GET", "/v2/shared/lie/blobs/")).isEqualTo(fetches + 1);
  }

  @Test
  void tricklingUpstreamDelaysNoOtherRequest() throws Exception {
    proxy = proxyBuilder().start();
    String slowDigest = up.putBlob("slow/repo", random(1_000, 4));
    up.lie(slowDigest, Lie.trickle(Duration.ofSeconds(1)));
    HostileRegistry.Image img = up.putImage("fast/repo", "v1", random(500, 5));
    Future<RawHttpClient.Response> slow = getAsync("/v2/" + UP + "/slow/repo/blobs/" + slowDigest);
    await(
        "the slow download to start",
        Duration.ofSeconds(30),
        () -> up.count("GET", "/v2/slow/repo/blobs/") == 1);
    for (int i = 0; i < 5; i++) {
      long t0 = System.nanoTime();
      RawHttpClient.Response r = get("/v2/" + UP + "/fast/repo/manifests/" + img.manifestDigest());
      assertThat(r.status()).isEqualTo(200);
      assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(3));
    }
    assertThat(slow.isDone()).isFalse();
    slow.cancel(true);
  }

  @Test
  void upstreamDownServesCachedDigestsAndStaleTagsAndSaysSo() throws Exception {
    proxy = proxyBuilder().cacheOption("tagTtl", "0s").start();
    HostileRegistry.Image img = up.putImage("offline/repo", "v1", random(50_000, 6));
    String base = "/v2/" + UP + "/offline/repo";
    assertThat(get(base + "/manifests/v1").status()).isEqualTo(200);
    assertThat(get(base + "/blobs/" + img.layerDigests().get(0)).status()).isEqualTo(200);
    up.stop();
    RawHttpClient.Response byDigest = get(base + "/manifests/" + img.manifestDigest());
    assertThat(byDigest.status()).isEqualTo(200);
    assertThat(byDigest.body()).isEqualTo(img.manifest());
    RawHttpClient.Response blob = get(base + "/blobs/" + img.layerDigests().get(0));
    assertThat(blob.status()).isEqualTo(200);
    assertThat(blob.complete()).isTrue();
    RawHttpClient.Response stale = get(base + "/manifests/v1");
    assertThat(stale.status()).isEqualTo(200);
    assertThat(stale.body()).isEqualTo(img.manifest());
    assertThat(stale.header("X-Registry-Proxy-Stale")).contains("true");
    assertThat(get(base + "/manifests/never-seen").status()).isBetween(500, 599);
  }

  @Test
  void freshTagIsAnsweredWithoutTheUpstreamAndExpiredTagIsRevalidated() throws Exception {
    proxy = proxyBuilder().cacheOption("tagTtl", "2s").start();
    HostileRegistry.Image first = up.putImage("ttl/repo", "v1", random(1_000, 7));
    String path = "/v2/" + UP + "/ttl/repo/manifests/v1";
    assertThat(get(path).header("Docker-Content-Digest")).contains(first.manifestDigest());
    int asked = up.count("GET", "/v2/ttl/repo/manifests/v1");
    HostileRegistry.Image moved = up.putImage("ttl/repo", "v1", random(1_000, 8));
    RawHttpClient.Response fresh = get(path);
    if (up.count("GET", "/v2/ttl/repo/manifests/v1") == asked) {
      // Within the TTL: answered from memory, no upstream round-trip.
      assertThat(fresh.header("Docker-Content-Digest")).contains(first.manifestDigest());
    }
    await(
        "the tag to be revalidated",
        Duration.ofSeconds(30),
        () -> {
          try {
            return get(path)
                .header("Docker-Content-Digest")
                .orElse("")
                .equals(moved.manifestDigest());
          } catch (IOException e) {
            return false;
          }
        });
    assertThat(up.count("GET", "/v2/ttl/repo/manifests/v1")).isGreaterThan(asked);
    up.removeTag("ttl/repo", "v1");
    await(
        "an honest 404 to be passed on",
        Duration.ofSeconds(30),
        () -> {
          try {
            return get(path).status() == 404;
          } catch (IOException e) {
            return false;
          }
        });
  }

  @Test
  void silentUpstreamGets504AfterTheFirstByteTimeoutAndStalledBodyAfterTheReadTimeout()
      throws Exception {
    proxy =
        proxyBuilder()
            .upstreamOption("firstByteTimeout", "2s")
            .upstreamOption("readTimeout", "2s")
            .start();
    HostileRegistry.Image img = up.putImage("silent/repo", "v1", random(1_000, 12));
    up.lie("silent/repo/manifests/v1", Lie.delayHeaders(Duration.ofSeconds(30)));
    long t0 = System.nanoTime();
    RawHttpClient.Response r = get("/v2/" + UP + "/silent/repo/manifests/v1");
    assertThat(r.status()).isEqualTo(504);
    assertThat(r.bodyText()).contains("UNAVAILABLE");
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(20));
    // A body that stops flowing: the client sees a broken transfer, the cache stays clean.
    String digest = img.layerDigests().get(0);
    up.lie(digest, Lie.trickle(Duration.ofSeconds(10)));
    RawHttpClient.Response stalled = get("/v2/" + UP + "/silent/repo/blobs/" + digest);
    assertNoWholeSuccess(stalled);
    assertNotCached(proxy.cacheDir(), digest);
  }

  @Test
  void keptAliveConnectionClosedByTheUpstreamOnReuseIsRetriedOnAFreshOne() throws Exception {
    proxy = proxyBuilder().start();
    HostileRegistry.Image first = up.putImage("reuse/repo", "v1", random(1_000, 15));
    HostileRegistry.Image second = up.putImage("reuse/repo", "v2", random(1_000, 16));
    assertThat(get("/v2/" + UP + "/reuse/repo/manifests/v1").status()).isEqualTo(200);
    // The pooled connection dies the moment it is reused, as a server's idle timeout would.
    up.lieTimes("reuse/repo/manifests/v2", 1, Lie.CLOSE_BEFORE_HEADERS);
    RawHttpClient.Response r = get("/v2/" + UP + "/reuse/repo/manifests/v2");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.body()).isEqualTo(second.manifest());
    var attempts = up.requests("GET", "/v2/reuse/repo/manifests/v2");
    assertThat(attempts).hasSize(2);
    var firstFetch = up.requests("GET", "/v2/reuse/repo/manifests/v1").get(0);
    assertThat(attempts.get(0).connectionId())
        .as("the first attempt reused the kept-alive connection")
        .isEqualTo(firstFetch.connectionId());
    assertThat(attempts.get(1).connectionId()).isNotEqualTo(attempts.get(0).connectionId());
    assertThat(first.manifestDigest()).isNotEqualTo(second.manifestDigest());
  }

  @Test
  void rateLimitedUpstreamIsBackedOffWhileCachedContentFlows() throws Exception {
    proxy = proxyBuilder().start();
    HostileRegistry.Image img = up.putImage("limited/repo", "v1", random(1_000, 9));
    String base = "/v2/" + UP + "/limited/repo";
    assertThat(get(base + "/blobs/" + img.layerDigests().get(0)).status()).isEqualTo(200);
    String otherBlob = up.putBlob("limited/repo", random(1_000, 10));
    up.lie("*", Lie.status(429, 30));
    assertThat(get(base + "/blobs/" + otherBlob).status()).isEqualTo(429);
    int asked = up.requests().size();
    RawHttpClient.Response again = get(base + "/blobs/" + otherBlob);
    assertThat(again.status()).isEqualTo(429);
    assertThat(again.bodyText()).contains("TOOMANYREQUESTS");
    assertThat(up.requests().size()).as("requests during back-off").isEqualTo(asked);
    assertThat(get(base + "/blobs/" + img.layerDigests().get(0)).status()).isEqualTo(200);
  }

  @Test
  void cacheStaysWithinMaxSizeByEvictingLeastRecentlyUsed() throws Exception {
    proxy = proxyBuilder().cacheOption("maxSize", "1MiB").start();
    List<String> digests = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      String d = up.putBlob("evict/repo", random(300_000, 100 + i));
      digests.add(d);
      assertThat(get("/v2/" + UP + "/evict/repo/blobs/" + d).status()).isEqualTo(200);
    }
    await(
        "eviction under 1 MiB",
        Duration.ofSeconds(30),
        () ->
            CacheAssertions.files(proxy.cacheDir().resolve("blobs")).stream()
                    .mapToLong(p -> p.toFile().length())
                    .sum()
                <= 1024 * 1024);
    // The most recent blob survives; the oldest went first.
    assertCached(proxy.cacheDir(), "blobs", digests.get(7));
    assertNotCached(proxy.cacheDir(), digests.get(0));
  }

  @Test
  void tagMappingSurvivesARestartAndIsServedWhileTheUpstreamIsDown() throws Exception {
    proxy = proxyBuilder().cacheOption("tagTtl", "0s").start();
    HostileRegistry.Image img = up.putImage("restart/repo", "v1", random(3_000, 13));
    String path = "/v2/" + UP + "/restart/repo/manifests/v1";
    assertThat(get(path).status()).isEqualTo(200);
    proxy.stop();
    up.stop();
    proxy.start();
    RawHttpClient.Response r = get(path);
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.header("Docker-Content-Digest")).contains(img.manifestDigest());
    assertThat(r.header("X-Registry-Proxy-Stale")).contains("true");
  }

  @Test
  void verifyOnStartQuarantinesACorruptedCacheFileAndItIsFetchedAgain() throws Exception {
    proxy = proxyBuilder().cacheOption("verifyOnStart", "true").start();
    byte[] blob = random(100_000, 14);
    String digest = up.putBlob("rot/repo", blob);
    String path = "/v2/" + UP + "/rot/repo/blobs/" + digest;
    assertThat(get(path).body()).isEqualTo(blob);
    proxy.stop();
    String hex = digest.substring(7);
    java.nio.file.Path file =
        proxy.cacheDir().resolve("blobs/sha256").resolve(hex.substring(0, 2)).resolve(hex);
    byte[] rotten = java.nio.file.Files.readAllBytes(file);
    rotten[rotten.length / 2] ^= 0x01;
    java.nio.file.Files.write(file, rotten);
    proxy.start();
    await(
        "the corrupted file to be quarantined",
        Duration.ofSeconds(60),
        () -> !java.nio.file.Files.exists(file));
    assertThat(CacheAssertions.files(proxy.cacheDir().resolve("quarantine"))).hasSize(1);
    RawHttpClient.Response again = get(path);
    assertThat(again.body()).isEqualTo(blob);
    assertThat(up.count("GET", "/v2/rot/repo/blobs/")).isEqualTo(2);
  }

  @Test
  void killDuringDownloadThenRestartNeverServesAPartialFile() throws Exception {
    proxy = proxyBuilder().start();
    byte[] blob = random(2_000, 11);
    String digest = up.putBlob("crash/repo", blob);
    up.lie(digest, Lie.trickle(Duration.ofMillis(20)));
    String path = "/v2/" + UP + "/crash/repo/blobs/" + digest;
    Future<RawHttpClient.Response> inFlight = getAsync(path);
    await(
        "bytes in the temporary file",
        Duration.ofSeconds(30),
        () ->
            CacheAssertions.files(proxy.cacheDir().resolve("tmp")).stream()
                .anyMatch(p -> p.toFile().length() > 50));
    proxy.kill9();
    assertNoWholeSuccess(inFlight.get(60, TimeUnit.SECONDS));
    String hex = digest.substring(digest.indexOf(':') + 1);
    assertThat(CacheAssertions.files(proxy.cacheDir().resolve("blobs")))
        .noneMatch(p -> p.getFileName().toString().equals(hex));
    up.unlie(digest);
    proxy.start();
    CacheAssertions.awaitEmptyTmp(proxy.cacheDir());
    RawHttpClient.Response r = get(path);
    assertThat(r.body()).isEqualTo(blob);
    assertThat(r.complete()).isTrue();
  }
}
