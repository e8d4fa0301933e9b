package dev.ociproxy.core.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.cache.TagIndex;
import dev.ociproxy.core.cluster.Peers;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.upstream.HttpTransport;
import dev.ociproxy.core.upstream.PeerHttp;
import dev.ociproxy.core.upstream.RequestLimits;
import dev.ociproxy.core.upstream.UpstreamOptions;
import dev.ociproxy.core.upstream.UpstreamResponse;
import dev.ociproxy.core.wiring.Upstreams;
import dev.ociproxy.testing.HostileRegistry;
import dev.ociproxy.testing.Lie;
import dev.ociproxy.testing.OciJson;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A stale or unknown tag another replica owns is asked of that owner, whose answer only names the
 * digest to fetch: the manifest is fetched by digest and verified here, the upstream is not asked
 * about the tag, and an owner that fails, is slow or names something unusable is passed over for
 * the upstream. The "owner" is a hostile registry serving the answer's JSON at the tag's path,
 * reached over {@link PeerHttp} as a replica's peer path would be.
 */
class PeerTagTest {
  private static final String REPO = "team/app";
  private static final RepositoryName REPOSITORY = new RepositoryName(REPO);
  private static final Tag LATEST = new Tag("latest");
  private static final String BY_TAG = "/v2/" + REPO + "/manifests/latest";

  @TempDir Path dir;
  private final NioEventLoopGroup group = new NioEventLoopGroup(1);
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final AtomicInteger asked = new AtomicInteger();
  private HostileRegistry up;
  private HostileRegistry owner;
  private ContentStore store;
  private Upstreams wired;
  private PeerHttp http;

  @BeforeEach
  void start() {
    up = HostileRegistry.start();
    owner = HostileRegistry.start();
    store = new ContentStore(dir).open();
    http =
        new PeerHttp(
            new HttpTransport(group, NioSocketChannel.class),
            meters,
            Duration.ofSeconds(1),
            Duration.ofSeconds(5),
            Duration.ofSeconds(5));
  }

  @AfterEach
  void stop() {
    if (wired != null) {
      wired.close();
    }
    up.close();
    owner.close();
    store.close();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  /** A pull-through for which {@code owner} owns every tag. */
  private PullThrough pullThrough(List<Freshness.Rule> freshness) {
    String ownerUrl = owner.url();
    Peers peers =
        new Peers() {
          @Override
          public @Nullable CompletableFuture<UpstreamResponse> askOwner(
              String upstream, RepositoryName repo, Digest digest) {
            return null;
          }

          @Override
          public String tagOwner(String upstream, RepositoryName repo, Tag tag) {
            return "owner.test:5000";
          }

          @Override
          public CompletableFuture<UpstreamResponse> askTag(
              String o, String upstream, RepositoryName repo, Tag tag, List<String> accept) {
            asked.incrementAndGet();
            assertThat(upstream).isEqualTo("up.test");
            return http.get(
                URI.create(ownerUrl + "/v2/" + repo.value() + "/manifests/" + tag.value()),
                new DefaultHttpHeaders());
          }
        };
    wired =
        Upstreams.wire(
            new Upstreams.Shared(group, NioSocketChannel.class, store, meters, 64, null, peers),
            List.of(
                new Upstreams.Spec(
                    UpstreamOptions.anonymous("up.test", URI.create(up.url())),
                    new MirrorOptions(
                        MirrorOptions.DEFAULT_MANIFEST_MAX_BYTES,
                        Duration.ofSeconds(30),
                        Duration.ofSeconds(20),
                        true,
                        freshness),
                    true,
                    RequestLimits.unlimited())));
    return wired.pullThrough("up.test");
  }

  private PullThrough pullThrough() {
    return pullThrough(List.of());
  }

  /** The owner's answer for {@code tag}. */
  private void ownerSays(String tag, String digest, String mediaType, long verifiedAt) {
    owner.putManifest(
        REPO,
        tag,
        "application/json",
        new PeerTag(Digest.parse(digest), mediaType, verifiedAt).encode());
  }

  private static Manifest get(CompletableFuture<Manifest> f) throws Exception {
    return f.get(20, TimeUnit.SECONDS);
  }

  private double counter(String name, String... tags) {
    var c = meters.find(name).tags(tags).counter();
    return c == null ? 0 : c.count();
  }

  private static byte[] layer(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void anUnknownTagAnotherReplicaOwnsIsAskedOfItAndItsManifestFetchedByDigestAndVerifiedHere()
      throws Exception {
    HostileRegistry.Image img = up.putImage(REPO, "latest", layer("one"));
    long verifiedAt = System.currentTimeMillis() - 1_000;
    ownerSays("latest", img.manifestDigest(), OciJson.IMAGE_MANIFEST, verifiedAt);
    PullThrough p = pullThrough();

    Manifest m = get(p.manifest(REPOSITORY, LATEST, List.of()));

    assertThat(m.digest()).hasToString(img.manifestDigest());
    assertThat(m.body()).isEqualTo(img.manifest());
    assertThat(up.count(null, BY_TAG)).as("the upstream asked about the tag").isZero();
    assertThat(up.count("GET", "/v2/" + REPO + "/manifests/" + img.manifestDigest())).isEqualTo(1);
    assertThat(asked).hasValue(1);
    TagIndex.Entry recorded = p.cachedTag(REPOSITORY, LATEST);
    assertThat(recorded.digest()).hasToString(img.manifestDigest());
    assertThat(recorded.verifiedAtMillis()).as("the owner's time").isEqualTo(verifiedAt);
    assertThat(counter("registry_proxy_tag_revalidations", "source", "peer")).isEqualTo(1);
    assertThat(counter("registry_proxy_tag_revalidations", "source", "upstream")).isZero();

    // Fresh now: nobody is asked.
    assertThat(get(p.manifest(REPOSITORY, LATEST, List.of())).body()).isEqualTo(img.manifest());
    assertThat(asked).hasValue(1);
  }

  @Test
  void aStaleTagTheOwnerConfirmsIsServedFromHereAndTheFleetGoesStaleWithTheOwner()
      throws Exception {
    HostileRegistry.Image img = up.putImage(REPO, "latest", layer("one"));
    long longAgo = System.currentTimeMillis() - 60_000; // older than the 30 s tagTtl
    ownerSays("latest", img.manifestDigest(), OciJson.IMAGE_MANIFEST, longAgo);
    PullThrough p = pullThrough();
    get(p.manifest(REPOSITORY, LATEST, List.of()));
    up.clearRequests();

    // Stale at once (the owner's time): asked again, and again only its digest is taken.
    Manifest m = get(p.manifest(REPOSITORY, LATEST, List.of()));
    assertThat(m.body()).isEqualTo(img.manifest());
    assertThat(m.fromCache()).isTrue();
    assertThat(asked).hasValue(2);
    assertThat(up.count(null, "/v2/")).as("requests to the upstream").isZero();

    // An owner's clock ahead of ours does not keep the mapping fresh for ever.
    ownerSays("latest", img.manifestDigest(), OciJson.IMAGE_MANIFEST, Long.MAX_VALUE / 2);
    get(p.manifest(REPOSITORY, LATEST, List.of()));
    assertThat(p.cachedTag(REPOSITORY, LATEST).verifiedAtMillis())
        .isLessThanOrEqualTo(System.currentTimeMillis());
  }

  @Test
  void aTagTheOwnerSaysMovedIsFetchedByTheNewDigestAndRecorded() throws Exception {
    HostileRegistry.Image one = up.putImage(REPO, "latest", layer("one"));
    ownerSays("latest", one.manifestDigest(), OciJson.IMAGE_MANIFEST, 0);
    PullThrough p = pullThrough();
    get(p.manifest(REPOSITORY, LATEST, List.of()));
    HostileRegistry.Image two = up.putImage(REPO, "latest", layer("two"));
    ownerSays("latest", two.manifestDigest(), OciJson.IMAGE_MANIFEST, System.currentTimeMillis());

    Manifest m = get(p.manifest(REPOSITORY, LATEST, List.of()));

    assertThat(m.digest()).hasToString(two.manifestDigest());
    assertThat(m.body()).isEqualTo(two.manifest());
    assertThat(p.cachedTag(REPOSITORY, LATEST).digest()).hasToString(two.manifestDigest());
    assertThat(up.count(null, BY_TAG)).isZero();
  }

  @Test
  void anOwnerNamingADigestTheUpstreamDoesNotServeOrOfAnotherTypeIsPassedOverForTheUpstream()
      throws Exception {
    HostileRegistry.Image img = up.putImage(REPO, "latest", layer("one"));
    ownerSays("latest", OciJson.sha256(layer("not a manifest")), OciJson.IMAGE_MANIFEST, 0);
    PullThrough p = pullThrough();

    assertThat(get(p.manifest(REPOSITORY, LATEST, List.of())).body()).isEqualTo(img.manifest());
    assertThat(up.count("GET", BY_TAG)).isEqualTo(1);

    HostileRegistry.Image other = up.putImage(REPO, "other", layer("two"));
    ownerSays("other", other.manifestDigest(), OciJson.IMAGE_INDEX, 0); // it is an image manifest
    assertThat(get(p.manifest(REPOSITORY, new Tag("other"), List.of())).body())
        .isEqualTo(other.manifest());
    assertThat(up.count("GET", "/v2/" + REPO + "/manifests/other")).isEqualTo(1);
    assertThat(counter("registry_proxy_tag_peer_fallbacks")).isEqualTo(2);
    assertThat(counter("registry_proxy_tag_revalidations", "source", "upstream")).isEqualTo(2);
    assertThat(counter("registry_proxy_tag_revalidations", "source", "peer")).isZero();
  }

  @Test
  void anOwnerThatIsDownAnswersAnErrorOrIsSlowMeansTheUpstreamIsAsked() throws Exception {
    HostileRegistry.Image img = up.putImage(REPO, "latest", layer("one"));
    PullThrough p = pullThrough();

    owner.lie("latest", Lie.status(503));
    assertThat(get(p.manifest(REPOSITORY, LATEST, List.of())).body()).isEqualTo(img.manifest());
    assertThat(up.count("GET", BY_TAG)).isEqualTo(1);

    HostileRegistry.Image slow = up.putImage(REPO, "slow", layer("two"));
    ownerSays("slow", slow.manifestDigest(), OciJson.IMAGE_MANIFEST, System.currentTimeMillis());
    owner.lie("slow", Lie.delayHeaders(Duration.ofSeconds(7)));
    long t0 = System.nanoTime();
    assertThat(get(p.manifest(REPOSITORY, new Tag("slow"), List.of())).body())
        .isEqualTo(slow.manifest());
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(7));
    assertThat(up.count("GET", "/v2/" + REPO + "/manifests/slow")).isEqualTo(1);

    HostileRegistry.Image gone = up.putImage(REPO, "gone", layer("three"));
    owner.stop();
    assertThat(get(p.manifest(REPOSITORY, new Tag("gone"), List.of())).body())
        .isEqualTo(gone.manifest());
    assertThat(up.count("GET", "/v2/" + REPO + "/manifests/gone")).isEqualTo(1);
    assertThat(counter("registry_proxy_tag_peer_fallbacks")).isEqualTo(3);
  }

  @Test
  void withTheOwnerFailingAndTheUpstreamDownTheLastVerifiedManifestIsServedStale()
      throws Exception {
    HostileRegistry.Image img = up.putImage(REPO, "latest", layer("one"));
    ownerSays("latest", img.manifestDigest(), OciJson.IMAGE_MANIFEST, System.currentTimeMillis());
    PullThrough p = pullThrough(List.of(Freshness.Rule.of("*", Freshness.ALWAYS)));
    get(p.manifest(REPOSITORY, LATEST, List.of()));

    owner.lie("latest", Lie.status(503));
    up.stop();
    Manifest m = get(p.manifest(REPOSITORY, LATEST, List.of()));

    assertThat(m.stale()).isTrue();
    assertThat(m.body()).isEqualTo(img.manifest());
    assertThat(counter("registry_proxy_stale_serves")).isEqualTo(1);
  }

  @Test
  void aPeersQuestionIsAnsweredFromThisReplicasUpstreamAndNeverPassedOn() throws Exception {
    HostileRegistry.Image img = up.putImage(REPO, "latest", layer("one"));
    PullThrough p = pullThrough(); // its peers say another replica owns every tag

    PeerTag answer = p.tagForPeer(REPOSITORY, LATEST, List.of()).get(20, TimeUnit.SECONDS);

    assertThat(answer.digest()).hasToString(img.manifestDigest());
    assertThat(answer.mediaType()).isEqualTo(OciJson.IMAGE_MANIFEST);
    assertThat(asked).as("peers asked").hasValue(0);
    assertThat(up.count("GET", BY_TAG)).isEqualTo(1);
    // Fresh now: the next question is answered from the record, with its time.
    PeerTag again = p.tagForPeer(REPOSITORY, LATEST, List.of()).get(20, TimeUnit.SECONDS);
    assertThat(again.verifiedAtMillis()).isEqualTo(answer.verifiedAtMillis());
    assertThat(up.count(null, BY_TAG)).isEqualTo(1);
    assertThat(asked).hasValue(0);
  }

  @Test
  void aPeersQuestionIsNeverAnsweredStale() throws Exception {
    up.putImage(REPO, "latest", layer("one"));
    PullThrough p = pullThrough(List.of(Freshness.Rule.of("*", Freshness.ALWAYS)));
    p.tagForPeer(REPOSITORY, LATEST, List.of()).get(20, TimeUnit.SECONDS);

    up.stop();

    assertThatThrownBy(() -> p.tagForPeer(REPOSITORY, LATEST, List.of()).get(20, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class);
    assertThat(asked).hasValue(0);
  }
}
