package dev.ociproxy.core.registry;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.core.airgap.CachedOnly;
import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.MediaTypes;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.upstream.RequestLimits;
import dev.ociproxy.core.upstream.UpstreamOptions;
import dev.ociproxy.core.wiring.Upstreams;
import dev.ociproxy.testing.HostileRegistry;
import dev.ociproxy.testing.Lie;
import dev.ociproxy.testing.OciJson;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pull-through's referrers against the hostile upstream: only what checks out is listed. */
class ReferrersTest {
  private static final RepositoryName REPO = new RepositoryName("test/app");
  private static final String SBOM = "application/spdx+json";
  private static final String SIGNATURE = "application/vnd.example.signature";

  @TempDir Path cache;
  private final HostileRegistry up = HostileRegistry.start();
  private final NioEventLoopGroup group = new NioEventLoopGroup(1);
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private ContentStore store;
  private Upstreams upstreams;
  private String image;

  @AfterEach
  void stop() {
    if (upstreams != null) {
      upstreams.close();
    }
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    if (store != null) {
      store.close();
    }
    up.close();
  }

  /** A pull-through whose referrers lists (and sha256-* tags) stay fresh for {@code tagTtl}. */
  private PullThrough pullThrough(Duration tagTtl) {
    if (upstreams != null) { // a restart over the same cache directory
      upstreams.close();
      store.close();
    }
    store = new ContentStore(cache).open();
    MirrorOptions caching =
        new MirrorOptions(
            MirrorOptions.DEFAULT_MANIFEST_MAX_BYTES,
            tagTtl,
            Duration.ofSeconds(30),
            true,
            List.of(Freshness.Rule.of("sha256-*", tagTtl)));
    upstreams =
        Upstreams.wire(
            new Upstreams.Shared(group, NioSocketChannel.class, store, meters, Integer.MAX_VALUE),
            List.of(
                new Upstreams.Spec(
                    UpstreamOptions.anonymous("up.test", URI.create(up.url())),
                    caching,
                    true,
                    RequestLimits.unlimited())));
    return upstreams.pullThrough("up.test");
  }

  /**
   * An image and two honest referrers: an SBOM typed by artifactType, a signature typed by its
   * config.
   */
  private List<String> imageWithTwoReferrers() {
    image = up.putImage(REPO.value(), "v1", "layer".getBytes()).manifestDigest();
    String sbom = put(OciJson.artifact(SBOM, "application/vnd.oci.empty.v1+json", image, "sbom"));
    String signature = put(OciJson.artifact(null, SIGNATURE, image, "signature"));
    return List.of(sbom, signature);
  }

  private final Map<String, Integer> sizes = new HashMap<>();

  private String put(byte[] manifest) {
    String digest = up.putManifest(REPO.value(), MediaTypes.OCI_MANIFEST, manifest);
    sizes.put(digest, manifest.length);
    return digest;
  }

  private Referrers referrers(PullThrough p) throws Exception {
    return p.referrers(REPO, Digest.parse(image)).get(10, TimeUnit.SECONDS);
  }

  private static List<String> digests(Referrers r) {
    return r.manifests().stream().map(m -> m.digest().toString()).toList();
  }

  private double refused(String reason) {
    Counter c = meters.find("registry_proxy_verification_failures").tag("reason", reason).counter();
    return c == null ? 0 : c.count();
  }

  @Test
  void honestReferrersAreListedWithTheArtifactTypeRecomputedFromTheirManifests() throws Exception {
    List<String> honest = imageWithTwoReferrers();

    Referrers r = referrers(pullThrough(Duration.ofSeconds(30)));

    assertThat(digests(r)).containsExactlyInAnyOrderElementsOf(honest);
    assertThat(r.manifests())
        .extracting(Referrers.Referrer::artifactType)
        .containsExactlyInAnyOrder(SBOM, SIGNATURE);
    assertThat(r.manifests())
        .allSatisfy(
            m -> {
              assertThat(m.mediaType()).isEqualTo(MediaTypes.OCI_MANIFEST);
              assertThat(m.annotations()).containsKey("org.example.label");
            });
    assertThat(r.filtered(SBOM).manifests()).hasSize(1);
    assertThat(r.stale()).isFalse();
  }

  @Test
  void aListedReferrerAboutAnotherSubjectWithWrongBytesOrAWrongSizeIsDroppedAndCounted()
      throws Exception {
    List<String> honest = imageWithTwoReferrers();
    String other = up.putImage("test/app", "v2", "other".getBytes()).manifestDigest();
    byte[] elsewhere =
        OciJson.artifact(SBOM, "application/vnd.oci.empty.v1+json", other, "elsewhere");
    up.referrers()
        .list(REPO.value(), image, MediaTypes.OCI_MANIFEST, put(elsewhere), elsewhere.length);
    byte[] substituted =
        OciJson.artifact(SBOM, "application/vnd.oci.empty.v1+json", image, "substituted");
    String substitutedDigest = put(substituted);
    up.lie(substitutedDigest, Lie.MANIFEST_BY_DIGEST_SUBSTITUTED);
    byte[] sized = OciJson.artifact(SBOM, "application/vnd.oci.empty.v1+json", image, "sized");
    up.referrers().list(REPO.value(), image, MediaTypes.OCI_MANIFEST, put(sized), sized.length + 1);

    PullThrough p = pullThrough(Duration.ofSeconds(30));
    Referrers r = referrers(p);

    assertThat(digests(r)).containsExactlyInAnyOrderElementsOf(honest);
    assertThat(refused("subject_mismatch")).isEqualTo(1);
    assertThat(refused("digest_mismatch")).isEqualTo(1);
    assertThat(refused("size_mismatch")).isEqualTo(1);
    assertThat(store.readManifest(Digest.parse(substitutedDigest))).isNull();
    assertThat(p.refusals().recent()).extracting(x -> x.asked()).contains("referrers of " + image);
  }

  @Test
  void aLinkToAnotherHostIsNeverFollowed() throws Exception {
    List<String> honest = imageWithTwoReferrers();
    try (HostileRegistry elsewhere = HostileRegistry.start()) {
      up.referrers().nextLink(elsewhere.url() + "/v2/" + REPO + "/referrers/" + image + "?page=2");

      Referrers r = referrers(pullThrough(Duration.ofSeconds(30)));

      assertThat(digests(r)).containsExactlyInAnyOrderElementsOf(honest);
      assertThat(elsewhere.requests()).isEmpty();
      assertThat(refused("foreign_link")).isEqualTo(1);
    }
  }

  @Test
  void aLinkToAnotherPathOfTheSameOriginIsNotFollowedEither() throws Exception {
    imageWithTwoReferrers();
    up.referrers().nextLink("/v2/test/other/tags/list?n=1");

    referrers(pullThrough(Duration.ofSeconds(30)));

    assertThat(up.requests("GET", "/v2/test/other/")).isEmpty();
    assertThat(refused("foreign_link")).isEqualTo(1);
  }

  @Test
  void endlessPaginationStopsAtTheBoundOnPages() throws Exception {
    List<String> honest = imageWithTwoReferrers();
    up.referrers().nextLink("/v2/" + REPO + "/referrers/" + image + "?page=next");

    Referrers r = referrers(pullThrough(Duration.ofSeconds(30)));

    assertThat(up.requests("GET", "/v2/" + REPO + "/referrers/"))
        .hasSize(ReferrerListing.MAX_PAGES);
    assertThat(refused("too_many")).isEqualTo(1);
    assertThat(digests(r)).containsExactlyInAnyOrderElementsOf(honest);
  }

  @Test
  void aDigestWithNoReferrersIsAnEmptyList() throws Exception {
    image = up.putImage(REPO.value(), "v1", "layer".getBytes()).manifestDigest();

    assertThat(referrers(pullThrough(Duration.ofSeconds(30))).manifests()).isEmpty();
  }

  @Test
  void withoutTheApiTheTagSchemaIndexIsVerifiedTheSameAndTheApiIsNotAskedAgainAtOnce()
      throws Exception {
    List<String> honest = imageWithTwoReferrers();
    String other = up.putImage("test/app", "v2", "other".getBytes()).manifestDigest();
    byte[] elsewhere =
        OciJson.artifact(SBOM, "application/vnd.oci.empty.v1+json", other, "elsewhere");
    String elsewhereDigest = put(elsewhere);
    up.referrers().withoutApi();
    byte[] index =
        OciJson.index(
            new OciJson.Descriptor(
                MediaTypes.OCI_MANIFEST, honest.get(0), sizes.get(honest.get(0))),
            new OciJson.Descriptor(
                MediaTypes.OCI_MANIFEST, honest.get(1), sizes.get(honest.get(1))),
            new OciJson.Descriptor(MediaTypes.OCI_MANIFEST, elsewhereDigest, elsewhere.length));
    up.putManifest(
        REPO.value(), "sha256-" + image.substring("sha256:".length()), MediaTypes.OCI_INDEX, index);

    PullThrough p = pullThrough(Duration.ZERO);
    Referrers first = referrers(p);
    Referrers second = referrers(p);

    assertThat(digests(first)).containsExactlyInAnyOrderElementsOf(honest);
    assertThat(digests(second)).containsExactlyInAnyOrderElementsOf(honest);
    assertThat(first.manifests())
        .extracting(Referrers.Referrer::artifactType)
        .containsExactlyInAnyOrder(SBOM, SIGNATURE);
    assertThat(refused("subject_mismatch")).isEqualTo(2);
    assertThat(up.requests("GET", "/v2/" + REPO + "/referrers/")).hasSize(1);
  }

  @Test
  void withoutTheApiAndWithoutTheTagNoReferrersIsAnEmptyList() throws Exception {
    imageWithTwoReferrers();
    up.referrers().withoutApi();

    assertThat(referrers(pullThrough(Duration.ofSeconds(30))).manifests()).isEmpty();
  }

  @Test
  void aListIsServedFromMemoryWhileFreshAndStaleWhenTheUpstreamFailsAfter() throws Exception {
    List<String> honest = imageWithTwoReferrers();
    PullThrough fresh = pullThrough(Duration.ofMinutes(5));
    referrers(fresh);
    up.clearRequests();
    assertThat(digests(referrers(fresh))).containsExactlyInAnyOrderElementsOf(honest);
    assertThat(up.requests()).isEmpty();

    PullThrough expiring = pullThrough(Duration.ZERO);
    referrers(expiring);
    up.lie("*", Lie.status(503));
    Referrers stale = referrers(expiring);

    assertThat(stale.stale()).isTrue();
    assertThat(digests(stale)).containsExactlyInAnyOrderElementsOf(honest);
    assertThat(expiring.cachedReferrers(REPO, Digest.parse(image))).isNotNull();
  }

  @Test
  void aVerifiedListSurvivesARestart_freshWithoutAskingAndStaleWhenTheUpstreamFails()
      throws Exception {
    List<String> honest = imageWithTwoReferrers();
    referrers(pullThrough(Duration.ofMinutes(5)));
    up.clearRequests();

    PullThrough restarted = pullThrough(Duration.ofMinutes(5));
    Referrers fresh = referrers(restarted);

    assertThat(digests(fresh)).containsExactlyInAnyOrderElementsOf(honest);
    assertThat(fresh.stale()).isFalse();
    assertThat(up.requests()).as("fresh from the store: the upstream is not asked").isEmpty();

    up.lie("*", Lie.status(503));
    Referrers stale = referrers(pullThrough(Duration.ZERO));

    assertThat(stale.stale()).isTrue();
    assertThat(digests(stale)).containsExactlyInAnyOrderElementsOf(honest);
    assertThat(stale.manifests())
        .extracting(Referrers.Referrer::artifactType)
        .containsExactlyInAnyOrder(SBOM, SIGNATURE);
  }

  @Test
  void anOfflineUpstreamAnswersFromTheListKeptBeforeARestart_andAnEmptyListStaysAnEmptyList()
      throws Exception {
    List<String> honest = imageWithTwoReferrers();
    String bare = up.putImage(REPO.value(), "v2", "bare".getBytes()).manifestDigest();
    PullThrough online = pullThrough(Duration.ofSeconds(30));
    referrers(online);
    online.referrers(REPO, Digest.parse(bare)).get(10, TimeUnit.SECONDS);
    up.clearRequests();

    CachedOnly offline = new CachedOnly(pullThrough(Duration.ofSeconds(30)));

    Referrers r = offline.referrers(REPO, Digest.parse(image)).get(10, TimeUnit.SECONDS);
    assertThat(digests(r)).containsExactlyInAnyOrderElementsOf(honest);
    assertThat(offline.referrers(REPO, Digest.parse(bare)).get(10, TimeUnit.SECONDS).manifests())
        .isEmpty();
    assertThat(offline.manifest(REPO, r.manifests().get(0).digest(), List.of()).get().body())
        .as("the listed referrer itself is held too")
        .hasSize(sizes.get(r.manifests().get(0).digest().toString()));
    assertThat(up.requests()).isEmpty();
  }

  @Test
  void concurrentRequestsForOneListShareOneUpstreamFetch() throws Exception {
    imageWithTwoReferrers();
    PullThrough p = pullThrough(Duration.ofSeconds(30));
    up.clearRequests();

    List<java.util.concurrent.CompletableFuture<Referrers>> many =
        java.util.stream.IntStream.range(0, 8)
            .mapToObj(i -> p.referrers(REPO, Digest.parse(image)))
            .toList();
    for (var f : many) {
      assertThat(f.get(10, TimeUnit.SECONDS).manifests()).hasSize(2);
    }

    assertThat(up.requests("GET", "/v2/" + REPO + "/referrers/")).hasSize(1);
  }

  @Test
  void withoutTheApiAListRebuiltFromAStaleTagIsServedStale_notPassedOffAsFresh() throws Exception {
    List<String> honest = imageWithTwoReferrers();
    up.referrers().withoutApi();
    up.putManifest(
        REPO.value(),
        "sha256-" + image.substring("sha256:".length()),
        MediaTypes.OCI_INDEX,
        OciJson.index(
            new OciJson.Descriptor(
                MediaTypes.OCI_MANIFEST, honest.get(0), sizes.get(honest.get(0)))));
    PullThrough p = pullThrough(Duration.ZERO);
    assertThat(referrers(p).stale()).isFalse();

    up.lie("*", Lie.status(503));
    Referrers r = referrers(p);

    assertThat(r.stale()).isTrue();
    assertThat(digests(r)).containsExactly(honest.get(0));
  }
}
