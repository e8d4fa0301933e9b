package dev.ociproxy.core.shared;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.ociproxy.core.airgap.AirgapOptions;
import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.policy.Requirement;
import dev.ociproxy.core.policy.Rule;
import dev.ociproxy.core.policy.SignaturePolicy;
import dev.ociproxy.core.policy.SignedIdentity;
import dev.ociproxy.core.policy.TrustedKey;
import dev.ociproxy.core.registry.BlobSource;
import dev.ociproxy.core.registry.MirrorOptions;
import dev.ociproxy.core.registry.Registry;
import dev.ociproxy.core.upstream.RequestLimits;
import dev.ociproxy.core.upstream.UpstreamOptions;
import dev.ociproxy.core.wiring.Upstreams;
import dev.ociproxy.testing.CosignSignatures;
import dev.ociproxy.testing.HostileRegistry;
import dev.ociproxy.testing.S3Server;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code storage.s3.redirect} over a real S3 API (s3proxy checking signatures) and the hostile
 * upstream: a blob committed and verified in the bucket is answered with a presigned URL that gives
 * exactly its bytes to a client holding no credential; a blob not known to be there is served as
 * before; and the pins and signature rules over the pull-through refuse before any redirect.
 */
class BlobRedirectsTest {
  private static final String UP = "up.test";
  private static final RepositoryName REPO = new RepositoryName("team/app");
  private static final String BUCKET = "redirects";

  @TempDir Path dirA;
  @TempDir Path dirB;
  private final S3Server s3 = S3Server.start(BUCKET);
  private final HostileRegistry up = HostileRegistry.start();
  private final NioEventLoopGroup group = new NioEventLoopGroup(1);
  private final HttpClient http = HttpClient.newHttpClient();
  private final List<Replica> replicas = new ArrayList<>();

  /** One replica's store and its client of the shared bucket, redirects on. */
  private final class Replica implements AutoCloseable {
    final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    final ContentStore store;
    final SharedStore shared;
    final List<AutoCloseable> closing = new ArrayList<>();

    Replica(Path dir) {
      store = new ContentStore(dir).open();
      shared =
          new SharedStore(
              new S3ObjectStore(options(s3)),
              new RecordMac(SharedStoreTest.SECRET),
              store,
              meters,
              MirrorOptions.DEFAULT_MANIFEST_MAX_BYTES);
      closing.add(shared);
      closing.add(store::close);
      replicas.add(this);
    }

    @Override
    public void close() throws Exception {
      for (AutoCloseable c : closing) {
        c.close();
      }
      closing.clear();
    }

    /** The upstream as clients see it, under these air-gap and signature rules. */
    Registry registry(AirgapOptions airgap, SignaturePolicy policy) {
      Upstreams u =
          Upstreams.wire(
              new Upstreams.Shared(
                  group, NioSocketChannel.class, store, meters, Integer.MAX_VALUE, shared),
              List.of(
                  new Upstreams.Spec(
                      UpstreamOptions.anonymous(UP, URI.create(up.url())),
                      MirrorOptions.defaults(),
                      true,
                      RequestLimits.unlimited())),
              airgap,
              content -> Map.of(),
              policy);
      closing.add(0, u);
      return u.registries().get(UP);
    }

    Registry registry() {
      return registry(AirgapOptions.none(), open());
    }
  }

  static S3Options options(S3Server s3) {
    return new S3Options(
        s3.endpoint(),
        S3Server.REGION,
        BUCKET,
        "cache/",
        true,
        S3Server.ACCESS_KEY,
        S3Server.SECRET_KEY,
        true,
        SharedStoreTest.SECRET);
  }

  private static SignaturePolicy open() {
    return new SignaturePolicy(
        new Rule("default", List.of(new Requirement.AcceptAnything())), Map.of());
  }

  @AfterEach
  void stop() throws Exception {
    for (Replica r : replicas) {
      r.close();
    }
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    up.close();
    s3.close();
  }

  @Test
  void aCommittedBlobIsRedirected_toAUrlThatGivesExactlyItsBytesWithoutAnyCredential()
      throws Exception {
    byte[] layer = random(1 << 20, 1);
    Digest digest = Digest.parse(up.putImage(REPO.value(), "v1", layer).layerDigests().get(0));
    Replica a = new Replica(dirA);
    Registry r = a.registry();
    whole(r.blobOrRedirect(REPO, digest)); // cold: downloaded, verified, then uploaded

    URI location = awaitRedirect(r, digest);
    String query = location.getRawQuery();
    assertThat(location.getScheme() + "://" + location.getRawAuthority())
        .as("absolute, at the bucket's origin")
        .isEqualTo(s3.endpoint().toString());
    assertThat(location.getRawPath())
        .isEqualTo("/" + BUCKET + "/cache/blobs/sha256/" + digest.hex());
    assertThat(query)
        .contains(
            "X-Amz-Signature=", "X-Amz-Credential=" + S3Server.ACCESS_KEY, "X-Amz-Expires=300")
        .doesNotContain(S3Server.SECRET_KEY);

    ObjectStore objects = a.shared.objects();
    for (int round = 0; round < 2; round++) { // the first round warms the JIT up
      long t0 = System.nanoTime();
      for (int i = 0; i < 1_000; i++) {
        objects.presignedGet("blobs/sha256/" + digest.hex(), BlobRedirects.EXPIRY);
      }
      long t1 = System.nanoTime();
      for (int i = 0; i < 1_000; i++) {
        a.shared.redirects().location(digest);
      }
      long t2 = System.nanoTime();
      System.out.printf( // measured, not asserted: what a redirect costs the event loop
          "BlobRedirectsTest: presigning %.1f us, a redirect's location %.1f us%n",
          (t1 - t0) / 1_000 / 1e3, (t2 - t1) / 1_000 / 1e3);
    }
    assertThat(a.shared.redirects().location(digest)).as("reused for a minute").isEqualTo(location);
    HttpResponse<byte[]> fetched = fetch(location);
    assertThat(fetched.statusCode()).isEqualTo(200);
    assertThat(fetched.body()).isEqualTo(layer);
    assertThat(up.count("GET", "/v2/team/app/blobs/")).as("the upstream sent it once").isEqualTo(1);

    String url = location.toString();
    assertThat(url).containsPattern("X-Amz-Signature=[0-9a-f]{64}$");
    char last = url.charAt(url.length() - 1); // the signature ends the query
    URI forged = URI.create(url.substring(0, url.length() - 1) + (last == '0' ? '1' : '0'));
    assertThat(fetch(forged).statusCode()).as("the signature is checked").isEqualTo(403);
    // A client that sent its own Authorization along would be refused by the store (one auth
    // mechanism per request): what ClientRedirectIT relies on to see that none was sent.
    assertThat(fetch(location, "Authorization", "Basic YWxpY2U6c2VjcmV0").statusCode())
        .isNotEqualTo(200);
  }

  @Test
  void aBlobTheBucketDoesNotHoldIsServedFromHere_andNeverRedirected() throws Exception {
    byte[] layer = random(200_000, 2);
    Digest digest = Digest.parse(up.putImage(REPO.value(), "v1", layer).layerDigests().get(0));
    Replica a = new Replica(dirA);
    Registry r = a.registry();
    whole(r.blobOrRedirect(REPO, digest));
    awaitRedirect(r, digest);
    s3.blobStore().removeBlob(BUCKET, "cache/blobs/sha256/" + digest.hex()); // retention, say

    // A restarted replica over the same disk: its copy is verified, the bucket's is gone.
    a.close();
    Replica again = new Replica(dirA);
    Registry restarted = again.registry();
    for (int i = 0; i < 5; i++) {
      BlobSource s = get(restarted.blobOrRedirect(REPO, digest));
      assertThat(s).isInstanceOf(BlobSource.Cached.class);
      ((BlobSource.Cached) s).lease().close();
      Thread.sleep(200); // time for the look in the bucket, which finds nothing
    }
  }

  @Test
  void aBlobOnlyTheBucketHeldIsReadBackVerifiedAndServedFromHere_thenRedirected() throws Exception {
    byte[] layer = random(300_000, 3);
    HostileRegistry.Image image = up.putImage(REPO.value(), "v1", layer);
    Digest digest = Digest.parse(image.layerDigests().get(0));
    Replica a = new Replica(dirA);
    Registry ra = a.registry();
    get(ra.manifest(REPO, Digest.parse(image.manifestDigest()), List.of()));
    whole(ra.blobOrRedirect(REPO, digest));
    awaitRedirect(ra, digest);
    up.stop();

    Replica b = new Replica(dirB);
    Registry rb = b.registry();
    get(rb.manifest(REPO, Digest.parse(image.manifestDigest()), List.of()));
    BlobSource first = get(rb.blobOrRedirect(REPO, digest));
    assertThat(first)
        .as("read back and verified here first")
        .isInstanceOf(BlobSource.Downloading.class);
    whole(CompletableFuture.completedFuture(first));

    assertThat(fetch(awaitRedirect(rb, digest)).body()).isEqualTo(layer);
  }

  @Test
  void pinsAndTheSignaturePolicyRefuseACommittedBlob_beforeAnyRedirect() throws Exception {
    byte[] layer = random(100_000, 4);
    Digest digest = Digest.parse(up.putImage(REPO.value(), "v1", layer).layerDigests().get(0));
    Replica a = new Replica(dirA);
    Registry plain = a.registry();
    whole(plain.blobOrRedirect(REPO, digest));
    awaitRedirect(plain, digest);

    Registry pinnedOnly =
        a.registry(
            new AirgapOptions(
                Set.of(), Set.of(UP), null, List.of(), AirgapOptions.DEFAULT_WARM_INTERVAL),
            open());
    RegistryException unpinned = failure(pinnedOnly.blobOrRedirect(REPO, digest));
    assertThat(unpinned.code()).isEqualTo(OciErrorCode.DENIED);
    assertThat(unpinned.getMessage()).contains("is not reachable from any pin");

    SignaturePolicy signed =
        new SignaturePolicy(
            new Rule("default", List.of(new Requirement.AcceptAnything())),
            Map.of(
                UP + "/team",
                new Rule(
                    UP + "/team",
                    List.of(
                        new Requirement.SigstoreSigned(
                            List.of(
                                TrustedKey.fromPem(
                                    "team.pub",
                                    CosignSignatures.pem(CosignSignatures.ecKey().getPublic()))),
                            new SignedIdentity.MatchRepoDigestOrExact())))));
    RegistryException unsigned =
        failure(a.registry(AirgapOptions.none(), signed).blobOrRedirect(REPO, digest));
    assertThat(unsigned.code()).isEqualTo(OciErrorCode.DENIED);
    assertThat(plain.blobOrRedirect(REPO, digest).get()).isInstanceOf(BlobSource.Redirect.class);
  }

  /** Asks until the answer is a redirect (the bucket's copy is learnt in the background). */
  private static URI awaitRedirect(Registry r, Digest digest) {
    List<URI> found = new ArrayList<>();
    await("a redirect for " + digest)
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(100))
        .until(
            () -> {
              BlobSource s = get(r.blobOrRedirect(REPO, digest));
              if (s instanceof BlobSource.Redirect redirect) {
                found.add(redirect.location());
                return true;
              }
              whole(CompletableFuture.completedFuture(s));
              return false;
            });
    return found.get(0);
  }

  /** Waits for a direct answer to be whole, and lets its file go. */
  private static void whole(CompletableFuture<BlobSource> f) throws Exception {
    BlobSource s = get(f);
    if (s instanceof BlobSource.Downloading d) {
      get(d.download().finished());
    } else if (s instanceof BlobSource.Cached c) {
      c.lease().close();
    }
  }

  private HttpResponse<byte[]> fetch(URI location, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(location).timeout(Duration.ofSeconds(30));
    if (headers.length > 0) {
      b.headers(headers);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  private static <T> T get(CompletableFuture<T> f) throws Exception {
    return f.get(30, TimeUnit.SECONDS);
  }

  private static RegistryException failure(CompletableFuture<?> f) {
    try {
      f.get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      return (RegistryException) e.getCause();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    throw new AssertionError("expected a failure");
  }

  private static byte[] random(int size, long seed) {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    return b;
  }
}
