package dev.ociproxy.core.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.cluster.Peers;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.upstream.HttpTransport;
import dev.ociproxy.core.upstream.PeerHttp;
import dev.ociproxy.core.upstream.UpstreamOptions;
import dev.ociproxy.core.verify.VerificationException;
import dev.ociproxy.core.wiring.Upstreams;
import dev.ociproxy.testing.HostileRegistry;
import dev.ociproxy.testing.Lie;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A cold blob whose digest another replica owns comes from that replica, verified here like an
 * upstream's body; an owner that fails or lies is passed over or refused. The "owner" is a hostile
 * registry reached over {@link PeerHttp}, as a replica's peer path would be.
 */
class PeerBlobTest {
  private static final String REPO = "team/app";

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
            Duration.ofSeconds(2),
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

  /** A pull-through whose peers send every cold blob to {@code ownerUrl}. */
  private PullThrough pullThrough(String ownerUrl) {
    Peers peers =
        (upstream, repo, digest) -> {
          asked.incrementAndGet();
          assertThat(upstream).isEqualTo("up.test");
          return http.get(
              URI.create(ownerUrl + "/v2/" + repo.value() + "/blobs/" + digest),
              new DefaultHttpHeaders());
        };
    wired =
        Upstreams.wire(
            new Upstreams.Shared(group, NioSocketChannel.class, store, meters, 64, null, peers),
            List.of(
                new Upstreams.Spec(
                    UpstreamOptions.anonymous("up.test", URI.create(up.url())),
                    MirrorOptions.defaults(),
                    true,
                    dev.ociproxy.core.upstream.RequestLimits.unlimited())));
    return wired.pullThrough("up.test");
  }

  private static byte[] bytes(int n) {
    byte[] b = new byte[n];
    new Random(n).nextBytes(b);
    return b;
  }

  private static byte[] read(CompletableFuture<BlobSource> f) throws Exception {
    BlobSource s = f.get(20, TimeUnit.SECONDS);
    if (s instanceof BlobSource.Downloading d) {
      d.download().finished().get(20, TimeUnit.SECONDS);
      s = d.published();
    }
    BlobSource.Cached c = (BlobSource.Cached) s;
    try {
      return Files.readAllBytes(c.path());
    } finally {
      c.lease().close();
    }
  }

  private double counter(String name, String... tags) {
    var c = meters.find(name).tags(tags).counter();
    return c == null ? 0 : c.count();
  }

  @Test
  void aColdBlobTheOwnerServesIsVerifiedHereAndTheUpstreamIsNeverAsked() throws Exception {
    byte[] blob = bytes(300_000);
    String digest = up.putBlob(REPO, blob);
    owner.putBlob(REPO, blob);
    PullThrough p = pullThrough(owner.url());

    assertThat(read(p.blob(new RepositoryName(REPO), Digest.parse(digest)))).isEqualTo(blob);

    assertThat(up.count("GET", "/v2/" + REPO + "/blobs/")).isZero();
    assertThat(owner.count("GET", "/v2/" + REPO + "/blobs/" + digest)).isEqualTo(1);
    assertThat(counter("registry_proxy_blob_fetches", "source", "peer")).isEqualTo(1);
    assertThat(counter("registry_proxy_blob_bytes", "source", "peer")).isEqualTo(blob.length);
    assertThat(counter("registry_proxy_blob_bytes", "source", "upstream")).isZero();
    // Cached now: the next client is served from the store, nobody is asked.
    assertThat(read(p.blob(new RepositoryName(REPO), Digest.parse(digest)))).isEqualTo(blob);
    assertThat(asked).hasValue(1);
  }

  @Test
  void aLyingOwnerIsRefusedLikeALyingUpstreamAndNothingIsCached() throws Exception {
    byte[] blob = bytes(200_000);
    String digest = up.putBlob(REPO, blob);
    owner.putBlob(REPO, blob);
    owner.lie(digest, Lie.FLIP_LAST_BYTE);
    PullThrough p = pullThrough(owner.url());

    assertThatThrownBy(() -> read(p.blob(new RepositoryName(REPO), Digest.parse(digest))))
        .isInstanceOf(ExecutionException.class)
        .hasCauseInstanceOf(VerificationException.class);

    assertThat(store.blobSize(Digest.parse(digest))).isEqualTo(-1);
    assertThat(up.count("GET", "/v2/" + REPO + "/blobs/")).isZero();
    // Recorded when the download ends, which may be just after the client saw it fail.
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(() -> assertThat(p.refusals().recent()).isNotEmpty());
  }

  @Test
  void anOwnerThatCannotBeReachedMeansTheUpstreamIsAsked() throws Exception {
    byte[] blob = bytes(100_000);
    String digest = up.putBlob(REPO, blob);
    String gone = owner.url();
    owner.stop();
    PullThrough p = pullThrough(gone);

    assertThat(read(p.blob(new RepositoryName(REPO), Digest.parse(digest)))).isEqualTo(blob);

    assertThat(up.count("GET", "/v2/" + REPO + "/blobs/" + digest)).isEqualTo(1);
    assertThat(counter("registry_proxy_peer_fallbacks", "stage", "headers")).isEqualTo(1);
  }

  @Test
  void anOwnerThatDoesNotAnswer200MeansTheUpstreamIsAsked() throws Exception {
    byte[] blob = bytes(100_000);
    String digest = up.putBlob(REPO, blob);
    owner.putBlob(REPO, blob);
    owner.lie(digest, Lie.status(503));
    PullThrough p = pullThrough(owner.url());

    assertThat(read(p.blob(new RepositoryName(REPO), Digest.parse(digest)))).isEqualTo(blob);

    assertThat(up.count("GET", "/v2/" + REPO + "/blobs/" + digest)).isEqualTo(1);
  }

  @Test
  void anOwnerSlowToAnswerIsPassedOverForTheUpstream() throws Exception {
    byte[] blob = bytes(100_000);
    String digest = up.putBlob(REPO, blob);
    owner.putBlob(REPO, blob);
    owner.lie(digest, Lie.delayHeaders(Duration.ofSeconds(6)));
    PullThrough p = pullThrough(owner.url());

    assertThat(read(p.blob(new RepositoryName(REPO), Digest.parse(digest)))).isEqualTo(blob);

    assertThat(up.count("GET", "/v2/" + REPO + "/blobs/" + digest)).isEqualTo(1);
  }

  /** The upstream's requests for {@code digest} that carried a {@code Range}, by its value. */
  private List<String> ranges(String digest) {
    return up.requests("GET", "/v2/" + REPO + "/blobs/" + digest).stream()
        .map(r -> r.header("Range").orElse("(none)"))
        .toList();
  }

  @Test
  void anOwnerCutMidBodyIsContinuedFromTheUpstreamWithARangeAndTheBlobIsStored() throws Exception {
    byte[] blob = bytes(300_000);
    String digest = up.putBlob(REPO, blob);
    owner.putBlob(REPO, blob);
    owner.lie(digest, Lie.TRUNCATE); // half the body, then FIN: the owner killed mid-transfer
    PullThrough p = pullThrough(owner.url());

    assertThat(read(p.blob(new RepositoryName(REPO), Digest.parse(digest)))).isEqualTo(blob);

    assertThat(ranges(digest)).containsExactly("bytes=150000-");
    assertThat(store.blobSize(Digest.parse(digest))).isEqualTo(blob.length);
    assertThat(counter("registry_proxy_peer_fallbacks", "stage", "body")).isEqualTo(1);
    assertThat(counter("registry_proxy_blob_bytes", "source", "peer")).isEqualTo(150_000);
    assertThat(counter("registry_proxy_blob_bytes", "source", "upstream")).isEqualTo(150_000);
    assertThat(counter("registry_proxy_upstream_received_bytes", "kind", "blob"))
        .isEqualTo(150_000);
  }

  @Test
  void anOwnerCutBeforeItsFirstByteIsContinuedFromByteZero() throws Exception {
    byte[] blob = bytes(1); // TRUNCATE sends half of one byte: none
    String digest = up.putBlob(REPO, blob);
    owner.putBlob(REPO, blob);
    owner.lie(digest, Lie.TRUNCATE);
    PullThrough p = pullThrough(owner.url());

    assertThat(read(p.blob(new RepositoryName(REPO), Digest.parse(digest)))).isEqualTo(blob);

    assertThat(ranges(digest)).containsExactly("bytes=0-");
  }

  @Test
  void anUpstreamThatFailsTheRangeLeavesTheDownloadFailedAndNothingStored() throws Exception {
    byte[] blob = bytes(300_000);
    String digest = up.putBlob(REPO, blob);
    owner.putBlob(REPO, blob);
    owner.lie(digest, Lie.TRUNCATE);
    up.lie(digest, Lie.status(503));
    PullThrough p = pullThrough(owner.url());

    assertThatThrownBy(() -> read(p.blob(new RepositoryName(REPO), Digest.parse(digest))))
        .isInstanceOf(ExecutionException.class)
        .hasMessageContaining("upstream answered 503 for the rest of blob " + digest);

    assertThat(ranges(digest)).containsExactly("bytes=150000-");
    assertThat(store.blobSize(Digest.parse(digest))).isEqualTo(-1);
  }

  @Test
  void anUpstreamThatIgnoresTheRangeHasTheOwnersBytesSkippedNotHashedTwice() throws Exception {
    byte[] blob = bytes(300_000);
    String digest = up.putBlob(REPO, blob);
    owner.putBlob(REPO, blob);
    owner.lie(digest, Lie.TRUNCATE);
    up.lie(digest, Lie.IGNORE_RANGE); // 200 with the whole body
    PullThrough p = pullThrough(owner.url());

    assertThat(read(p.blob(new RepositoryName(REPO), Digest.parse(digest)))).isEqualTo(blob);

    assertThat(ranges(digest)).containsExactly("bytes=150000-");
    assertThat(store.blobSize(Digest.parse(digest))).isEqualTo(blob.length);
  }

  @Test
  void anOwnerThatLiedInItsFirstBytesThenCutIsRefusedAtTheLastByteAndNothingIsStored()
      throws Exception {
    byte[] blob = bytes(300_000);
    String digest = up.putBlob(REPO, blob);
    owner.putBlob(REPO, blob);
    owner.lie(digest, Lie.FLIP_FIRST_BYTE, Lie.TRUNCATE);
    PullThrough p = pullThrough(owner.url());

    assertThatThrownBy(() -> read(p.blob(new RepositoryName(REPO), Digest.parse(digest))))
        .isInstanceOf(ExecutionException.class)
        .hasCauseInstanceOf(VerificationException.class);

    assertThat(ranges(digest)).containsExactly("bytes=150000-");
    assertThat(store.blobSize(Digest.parse(digest))).isEqualTo(-1);
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () ->
                assertThat(p.refusals().recent())
                    .singleElement()
                    .satisfies(
                        r -> {
                          assertThat(r.reason()).isEqualTo("digest_mismatch");
                          assertThat(r.arrived())
                              .startsWith("peer, then upstream from byte 150000: ");
                        }));
  }

  @Test
  void anUpstreamAnsweringTheRangeFromAnotherStartIsRefusedAndNothingIsStored() throws Exception {
    byte[] blob = bytes(300_000);
    String digest = up.putBlob(REPO, blob);
    owner.putBlob(REPO, blob);
    owner.lie(digest, Lie.TRUNCATE);
    up.lie(digest, Lie.RANGE_START_SHIFTED); // 206, Content-Range bytes 150001-299999/300000
    PullThrough p = pullThrough(owner.url());

    assertThatThrownBy(() -> read(p.blob(new RepositoryName(REPO), Digest.parse(digest))))
        .isInstanceOf(ExecutionException.class)
        .cause()
        .isInstanceOf(VerificationException.class)
        .hasMessageContaining("'bytes 150001-299999/300000' for Range bytes=150000-");

    assertThat(ranges(digest)).containsExactly("bytes=150000-");
    assertThat(store.blobSize(Digest.parse(digest))).isEqualTo(-1);
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () ->
                assertThat(p.refusals().recent())
                    .singleElement()
                    .satisfies(r -> assertThat(r.reason()).isEqualTo("range_mismatch")));
  }

  @Test
  void aPeersRequestIsServedFromThisReplicasUpstreamAndNeverPassedOn() throws Exception {
    byte[] blob = bytes(100_000);
    String digest = up.putBlob(REPO, blob);
    PullThrough p = pullThrough(owner.url());

    assertThat(read(p.blobForPeer(new RepositoryName(REPO), Digest.parse(digest)))).isEqualTo(blob);

    assertThat(asked).hasValue(0);
    assertThat(up.count("GET", "/v2/" + REPO + "/blobs/" + digest)).isEqualTo(1);
  }
}
