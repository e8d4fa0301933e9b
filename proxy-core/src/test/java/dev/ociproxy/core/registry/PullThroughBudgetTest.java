package dev.ociproxy.core.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.upstream.RequestLimits;
import dev.ociproxy.core.upstream.UpstreamOptions;
import dev.ociproxy.core.wiring.Upstreams;
import dev.ociproxy.testing.HostileRegistry;
import dev.ociproxy.testing.Lie;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a pull-through costs its upstream (a hostile registry that counts every request and can keep
 * Docker Hub's budget): stale tags are revalidated with HEADs, immutable ones never, a spent budget
 * stops requests and serves stale, and the concurrency cap queues cold fetches.
 */
class PullThroughBudgetTest {
  private static final RepositoryName REPO = new RepositoryName("team/app");
  private static final String MANIFEST = "/v2/team/app/manifests/";

  @TempDir Path dir;
  private final NioEventLoopGroup group = new NioEventLoopGroup(1);
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final List<Upstreams> wired = new ArrayList<>();
  private HostileRegistry up;
  private ContentStore store;

  @BeforeEach
  void start() {
    up = HostileRegistry.start();
    store = new ContentStore(dir).open();
  }

  @AfterEach
  void stop() {
    up.close();
    store.close();
    wired.forEach(Upstreams::close);
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  private PullThrough pullThrough(RequestLimits limits, Freshness.Rule... rules) {
    UpstreamOptions options = UpstreamOptions.anonymous("up.test", URI.create(up.url()));
    MirrorOptions caching =
        new MirrorOptions(
            MirrorOptions.DEFAULT_MANIFEST_MAX_BYTES,
            Duration.ofHours(1),
            Duration.ofSeconds(30),
            true,
            List.of(rules));
    Upstreams u =
        Upstreams.wire(
            new Upstreams.Shared(group, NioSocketChannel.class, store, meters, Integer.MAX_VALUE),
            List.of(new Upstreams.Spec(options, caching, true, limits)));
    wired.add(u);
    return u.pullThrough("up.test");
  }

  private static <T> T get(CompletableFuture<T> f) throws Exception {
    return f.get(20, TimeUnit.SECONDS);
  }

  private static Manifest manifest(PullThrough p, String tag) throws Exception {
    return get(p.manifest(REPO, new Tag(tag), List.of()));
  }

  private static byte[] bytes(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  @Test
  void revalidatingAnUnchangedTagNTimesCostsNHeadsAndNoGet() throws Exception {
    HostileRegistry.Image img = up.putImage("team/app", "latest", bytes(100, 1));
    PullThrough p =
        pullThrough(RequestLimits.unlimited(), Freshness.Rule.of("latest", Freshness.ALWAYS));
    assertThat(manifest(p, "latest").digest()).hasToString(img.manifestDigest());
    up.clearRequests();

    for (int i = 0; i < 5; i++) {
      Manifest m = manifest(p, "latest");
      assertThat(m.digest()).hasToString(img.manifestDigest());
      assertThat(m.stale()).isFalse();
    }

    assertThat(up.count("HEAD", MANIFEST + "latest")).isEqualTo(5);
    assertThat(up.count("GET", MANIFEST)).isZero();
  }

  @Test
  void aMovedTagCostsOneHeadAndOneGetAndServesTheNewManifestVerified() throws Exception {
    up.putImage("team/app", "latest", bytes(100, 1));
    PullThrough p =
        pullThrough(RequestLimits.unlimited(), Freshness.Rule.of("latest", Freshness.ALWAYS));
    manifest(p, "latest");
    HostileRegistry.Image moved = up.putImage("team/app", "latest", bytes(100, 2));
    up.clearRequests();

    Manifest m = manifest(p, "latest");

    assertThat(m.digest()).hasToString(moved.manifestDigest());
    assertThat(m.body()).isEqualTo(moved.manifest());
    assertThat(up.count("HEAD", MANIFEST)).isEqualTo(1);
    assertThat(up.count("GET", MANIFEST)).isEqualTo(1);
    assertThat(manifest(p, "latest").digest()).hasToString(moved.manifestDigest());
  }

  @Test
  void aMovedTagWhoseNewBodyLiesIsRefusedAfterTheHead() throws Exception {
    up.putImage("team/app", "latest", bytes(100, 1));
    PullThrough p =
        pullThrough(RequestLimits.unlimited(), Freshness.Rule.of("latest", Freshness.ALWAYS));
    manifest(p, "latest");
    up.putImage("team/app", "latest", bytes(100, 2));
    up.lie("team/app/manifests/latest", Lie.FALSE_DIGEST_HEADER);

    assertThatThrownBy(() -> manifest(p, "latest"))
        .isInstanceOf(ExecutionException.class)
        .hasCauseInstanceOf(RegistryException.class);
  }

  @Test
  void aTagMatchingANeverRuleIsNotAskedAboutAgain() throws Exception {
    HostileRegistry.Image img = up.putImage("team/app", "v1.2.3", bytes(100, 1));
    PullThrough p =
        pullThrough(
            RequestLimits.unlimited(),
            Freshness.Rule.of("v*", Freshness.NEVER),
            Freshness.Rule.of("*", Freshness.ALWAYS));
    manifest(p, "v1.2.3");
    up.putImage("team/app", "v1.2.3", bytes(100, 2));
    up.clearRequests();

    for (int i = 0; i < 3; i++) {
      assertThat(manifest(p, "v1.2.3").digest()).hasToString(img.manifestDigest());
      assertThat(get(p.manifestHead(REPO, new Tag("v1.2.3"), List.of())).digest())
          .hasToString(img.manifestDigest());
    }

    assertThat(up.requests()).isEmpty();
  }

  @Test
  void aClientHeadOfAFreshTagIsAnsweredFromMemory_ofAStaleOneWithOneUpstreamHeadAndNoGet()
      throws Exception {
    HostileRegistry.Image img = up.putImage("team/app", "latest", bytes(100, 1));
    up.putImage("team/app", "v2", bytes(100, 3));
    PullThrough p =
        pullThrough(RequestLimits.unlimited(), Freshness.Rule.of("latest", Freshness.ALWAYS));
    manifest(p, "latest");
    manifest(p, "v2");
    up.clearRequests();

    ManifestHead fresh = get(p.manifestHead(REPO, new Tag("v2"), List.of()));
    assertThat(fresh.fromCache()).isTrue();
    assertThat(up.requests()).isEmpty();

    ManifestHead same = get(p.manifestHead(REPO, new Tag("latest"), List.of()));
    assertThat(same.digest()).hasToString(img.manifestDigest());
    assertThat(same.length()).isEqualTo(img.manifest().length);
    HostileRegistry.Image moved = up.putImage("team/app", "latest", bytes(100, 2));
    ManifestHead changed = get(p.manifestHead(REPO, new Tag("latest"), List.of()));

    assertThat(changed.digest()).hasToString(moved.manifestDigest());
    assertThat(changed.length()).isEqualTo(moved.manifest().length);
    assertThat(changed.fromCache()).isFalse();
    assertThat(up.count("HEAD", MANIFEST + "latest")).isEqualTo(2);
    assertThat(up.count("GET", MANIFEST)).isZero();
  }

  @Test
  void aSpentBudgetStopsRequestsAndServesStaleUntilItRenews_andTheGaugesShowIt() throws Exception {
    HostileRegistry.Image img = up.putImage("team/app", "latest", bytes(100, 1));
    up.putImage("team/app", "other", bytes(100, 4));
    up.rateLimit(100, 1, 3600);
    up.rateLimitRetryAfter(1);
    PullThrough p =
        pullThrough(RequestLimits.unlimited(), Freshness.Rule.of("latest", Freshness.ALWAYS));

    manifest(p, "latest"); // the last pull of the budget: ratelimit-remaining: 0 comes back
    assertThat(
            meters
                .get("registry_proxy_upstream_ratelimit_limit")
                .tag("upstream", "up.test")
                .gauge()
                .value())
        .isEqualTo(100);
    assertThat(
            meters
                .get("registry_proxy_upstream_ratelimit_remaining")
                .tag("upstream", "up.test")
                .gauge()
                .value())
        .isZero();
    up.clearRequests();

    Manifest stale = manifest(p, "latest");
    assertThat(stale.stale()).isTrue();
    assertThat(stale.digest()).hasToString(img.manifestDigest());
    assertThat(get(p.manifestHead(REPO, new Tag("latest"), List.of())).stale()).isTrue();
    assertThatThrownBy(() -> manifest(p, "other"))
        .hasCauseInstanceOf(RegistryException.class)
        .cause()
        .hasMessageContaining("rate limit");
    assertThat(up.requests()).as("nothing is asked while the budget is spent").isEmpty();
  }

  @Test
  void a429WithRetryAfterServesStaleAndTheUpstreamIsNotAskedUntilItPasses() throws Exception {
    HostileRegistry.Image img = up.putImage("team/app", "latest", bytes(100, 1));
    PullThrough p =
        pullThrough(RequestLimits.unlimited(), Freshness.Rule.of("latest", Freshness.ALWAYS));
    manifest(p, "latest");
    up.lie("*", Lie.status(429, 1));
    up.clearRequests();

    assertThat(manifest(p, "latest").stale()).isTrue();
    assertThat(manifest(p, "latest").stale()).isTrue();
    assertThat(up.requests()).hasSize(1);

    up.honest();
    Thread.sleep(1_100);
    Manifest renewed = manifest(p, "latest");
    assertThat(renewed.stale()).isFalse();
    assertThat(renewed.digest()).hasToString(img.manifestDigest());
  }

  @Test
  void theConcurrencyCapHoldsUnder32ColdBlobFetchesWhileACachedBlobIsServedAtOnce()
      throws Exception {
    String cachedDigest = up.putBlob("team/app", bytes(1_000, 99));
    PullThrough p = pullThrough(new RequestLimits(4, 0));
    BlobSource first = get(p.blob(REPO, Digest.parse(cachedDigest)));
    ((BlobSource.Downloading) first).download().finished().get(20, TimeUnit.SECONDS);
    List<Digest> cold = new ArrayList<>();
    for (int i = 0; i < 32; i++) {
      String d = up.putBlob("team/app", bytes(20_000, i));
      up.lie(d, Lie.delayHeaders(Duration.ofMillis(100)));
      cold.add(Digest.parse(d));
    }

    List<CompletableFuture<BlobSource>> fetches = cold.stream().map(d -> p.blob(REPO, d)).toList();
    long t0 = System.nanoTime();
    BlobSource cached = get(p.blob(REPO, Digest.parse(cachedDigest)));
    long cachedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    double queued =
        meters
            .get("registry_proxy_upstream_queued_requests")
            .tag("upstream", "up.test")
            .gauge()
            .value();
    for (var f : fetches) {
      ((BlobSource.Downloading) get(f)).download().finished().get(30, TimeUnit.SECONDS);
    }

    assertThat(cached).isInstanceOf(BlobSource.Cached.class);
    ((BlobSource.Cached) cached).lease().close();
    assertThat(cachedMillis).isLessThan(100);
    assertThat(queued).isGreaterThan(0);
    assertThat(up.peakConcurrentRequests()).isBetween(2, 4);
    cold.forEach(d -> assertThat(store.blobSize(d)).isEqualTo(20_000));
  }
}
