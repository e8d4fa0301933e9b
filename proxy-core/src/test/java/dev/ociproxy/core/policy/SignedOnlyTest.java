package dev.ociproxy.core.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.core.airgap.AirgapOptions;
import dev.ociproxy.core.airgap.ImageRef;
import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.MediaTypes;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.Reference;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.registry.BlobSource;
import dev.ociproxy.core.registry.Manifest;
import dev.ociproxy.core.registry.MirrorOptions;
import dev.ociproxy.core.registry.Registry;
import dev.ociproxy.core.upstream.RequestLimits;
import dev.ociproxy.core.upstream.UpstreamOptions;
import dev.ociproxy.core.wiring.Upstreams;
import dev.ociproxy.testing.CosignSignatures;
import dev.ociproxy.testing.HostileRegistry;
import dev.ociproxy.testing.OciJson;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.net.URI;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link SignedOnly} as {@link Upstreams} wires it, over a real pull-through of the test upstream:
 * signatures made in test code, pushed under cosign's tag or as bundle referrers.
 */
class SignedOnlyTest {
  private static final String UP = "up.test";
  private static final RepositoryName REPO = new RepositoryName("team/app");

  @TempDir Path cache;
  private final HostileRegistry up = HostileRegistry.start();
  private final NioEventLoopGroup group = new NioEventLoopGroup(1);
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final KeyPair key = CosignSignatures.ecKey();
  private ContentStore store;
  private Upstreams upstreams;

  @AfterEach
  void close() {
    if (upstreams != null) {
      upstreams.close();
    }
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    if (store != null) {
      store.close();
    }
    up.close();
  }

  private Registry wire(Set<String> offline, SignedIdentity identity, Duration tagTtl) {
    store = new ContentStore(cache).open();
    SignaturePolicy policy =
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
                                    "team.pub", CosignSignatures.pem(key.getPublic()))),
                            identity)))));
    upstreams =
        Upstreams.wire(
            new Upstreams.Shared(group, NioSocketChannel.class, store, meters, Integer.MAX_VALUE),
            List.of(
                new Upstreams.Spec(
                    UpstreamOptions.anonymous(UP, URI.create(up.url())),
                    new MirrorOptions(
                        MirrorOptions.DEFAULT_MANIFEST_MAX_BYTES, tagTtl, Duration.ofSeconds(30)),
                    true,
                    RequestLimits.unlimited())),
            new AirgapOptions(
                offline, Set.of(), null, List.of(), AirgapOptions.DEFAULT_WARM_INTERVAL),
            content -> Map.of(),
            policy);
    return upstreams.registries().get(UP);
  }

  private Registry wire() {
    return wire(Set.of(), new SignedIdentity.MatchRepoDigestOrExact(), Duration.ofSeconds(30));
  }

  /** Pushes cosign's signature manifest for {@code digest} with one payload per layer. */
  private void sign(String repo, String digest, CosignSignatures.Layer... layers) {
    up.putBlob(repo, CosignSignatures.signatureConfig());
    for (CosignSignatures.Layer l : layers) {
      up.putBlob(repo, l.payload());
    }
    up.putManifest(
        repo,
        CosignSignatures.signatureTag(digest),
        OciJson.IMAGE_MANIFEST,
        CosignSignatures.signatureManifest(layers));
  }

  private void sign(HostileRegistry.Image image, String reference) {
    sign(
        image.repo(),
        image.manifestDigest(),
        CosignSignatures.Layer.signed(
            key.getPrivate(), CosignSignatures.payload(reference, image.manifestDigest())));
  }

  private static Manifest manifest(Registry r, Reference ref) throws Exception {
    return get(r.manifest(REPO, ref, MediaTypes.ALL_MANIFESTS));
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

  private double decisions(String decision, String reason) {
    var c =
        meters
            .find("registry_proxy_policy_decisions")
            .tags("upstream", UP, "decision", decision, "reason", reason)
            .counter();
    return c == null ? 0 : c.count();
  }

  @Test
  void aSignedImage_isServedByTagAndByDigest_withItsBlobs() throws Exception {
    Registry r = wire();
    HostileRegistry.Image image = up.putImage("team/app", "v1", "layer".getBytes());
    sign(image, UP + "/team/app:v1");

    assertThat(manifest(r, new Tag("v1")).digest().toString()).isEqualTo(image.manifestDigest());
    assertThat(manifest(r, Digest.parse(image.manifestDigest())).digest().toString())
        .isEqualTo(image.manifestDigest());
    BlobSource layer = get(r.blob(REPO, Digest.parse(image.layerDigests().get(0))));
    if (layer instanceof BlobSource.Cached c) {
      c.lease().close();
    }
    assertThat(decisions("admit", "signed")).isGreaterThanOrEqualTo(2);
  }

  @Test
  void anUnsignedImage_isRefusedWithDenied_andNothingOfItIsFetchedOrServed() throws Exception {
    Registry r = wire();
    HostileRegistry.Image image = up.putImage("team/app", "v1", "layer".getBytes());

    RegistryException e = failure(r.manifest(REPO, new Tag("v1"), MediaTypes.ALL_MANIFESTS));

    assertThat(e.code()).isEqualTo(OciErrorCode.DENIED);
    assertThat(e.status()).isEqualTo(403);
    assertThat(e.getMessage()).contains("rule '" + UP + "/team'").contains("no_signature");
    RegistryException blob = failure(r.blob(REPO, Digest.parse(image.layerDigests().get(0))));
    assertThat(blob.status()).isEqualTo(403);
    assertThat(blob.getMessage()).contains("not_admitted");
    assertThat(up.count("GET", "/v2/team/app/blobs/" + image.layerDigests().get(0))).isZero();
    assertThat(decisions("refuse", "no_signature")).isEqualTo(1);
  }

  @Test
  void aRepositoryOutsideTheRuledScope_isServedUnsigned() throws Exception {
    Registry r = wire();
    up.putImage("other/app", "v1", "layer".getBytes());

    assertThat(
            get(
                r.manifest(
                    new RepositoryName("other/app"), new Tag("v1"), MediaTypes.ALL_MANIFESTS)))
        .isNotNull();
  }

  @Test
  void aSignedIndex_admitsThePlatformManifestsItLists_whenAskedByDigest() throws Exception {
    Registry r = wire();
    HostileRegistry.Image amd = up.putImage("team/app", null, "amd".getBytes());
    HostileRegistry.Image arm = up.putImage("team/app", null, "arm".getBytes());
    byte[] index =
        OciJson.index(
            OciJson.descriptor(OciJson.IMAGE_MANIFEST, amd.manifest()),
            OciJson.descriptor(OciJson.IMAGE_MANIFEST, arm.manifest()));
    String indexDigest = up.putManifest("team/app", "multi", OciJson.IMAGE_INDEX, index);
    sign(
        "team/app",
        indexDigest,
        CosignSignatures.Layer.signed(
            key.getPrivate(), CosignSignatures.payload(UP + "/team/app:multi", indexDigest)));

    assertThat(failure(r.manifest(REPO, Digest.parse(arm.manifestDigest()), List.of())).status())
        .as("a platform manifest before its index was admitted")
        .isEqualTo(403);
    manifest(r, new Tag("multi"));
    assertThat(manifest(r, Digest.parse(arm.manifestDigest())).digest().toString())
        .isEqualTo(arm.manifestDigest());
    get(r.blobSize(REPO, Digest.parse(arm.layerDigests().get(0))));
  }

  @Test
  void aTagMovedUpstreamToAnUnsignedDigest_isRefused() throws Exception {
    Registry r = wire(Set.of(), new SignedIdentity.MatchRepoDigestOrExact(), Duration.ZERO);
    HostileRegistry.Image signed = up.putImage("team/app", "v1", "one".getBytes());
    sign(signed, UP + "/team/app:v1");
    manifest(r, new Tag("v1"));

    up.putImage("team/app", "v1", "two".getBytes());

    RegistryException e = failure(r.manifest(REPO, new Tag("v1"), MediaTypes.ALL_MANIFESTS));
    assertThat(e.status()).isEqualTo(403);
    assertThat(e.getMessage()).contains("no_signature");
  }

  @Test
  void theSignatureManifestItself_isServedAsAnArtifact_soClientsCanVerifyForThemselves()
      throws Exception {
    Registry r = wire();
    HostileRegistry.Image image = up.putImage("team/app", "v1", "layer".getBytes());
    sign(image, UP + "/team/app:v1");

    Manifest sig = manifest(r, new Tag(CosignSignatures.signatureTag(image.manifestDigest())));

    assertThat(sig.mediaType()).isEqualTo(MediaTypes.OCI_MANIFEST);
    assertThat(decisions("admit", "artifact")).isEqualTo(1);
  }

  @Test
  void aBundleFoundThroughTheReferrersTagSchema_admitsTheImage() throws Exception {
    Registry r = wire(Set.of(), new SignedIdentity.MatchRepository(), Duration.ofSeconds(30));
    HostileRegistry.Image image = up.putImage("team/app", "v1", "layer".getBytes());
    byte[] bundle =
        CosignSignatures.bundle(
            key.getPrivate(), CosignSignatures.statement(UP + "/team/app", image.manifestDigest()));
    up.putBlob("team/app", CosignSignatures.EMPTY_JSON);
    up.putBlob("team/app", bundle);
    byte[] referrer =
        CosignSignatures.bundleManifest(
            bundle, OciJson.descriptor(OciJson.IMAGE_MANIFEST, image.manifest()));
    String referrerDigest = up.putManifest("team/app", OciJson.IMAGE_MANIFEST, referrer);
    up.referrers().withoutApi();
    up.putManifest(
        "team/app",
        image.manifestDigest().replace(':', '-'),
        OciJson.IMAGE_INDEX,
        OciJson.index(
            new OciJson.Descriptor(
                OciJson.IMAGE_MANIFEST, referrerDigest, referrer.length, Map.of())));

    assertThat(manifest(r, new Tag("v1")).digest().toString()).isEqualTo(image.manifestDigest());
  }

  @Test
  void aBundleListedByTheUpstreamsReferrersApi_admitsTheImage_andAnUnsignedOneStaysRefused()
      throws Exception {
    Registry r = wire(Set.of(), new SignedIdentity.MatchRepository(), Duration.ofSeconds(30));
    HostileRegistry.Image image = up.putImage("team/app", "v1", "layer".getBytes());
    HostileRegistry.Image unsigned = up.putImage("team/app", "v2", "other".getBytes());
    byte[] bundle =
        CosignSignatures.bundle(
            key.getPrivate(), CosignSignatures.statement(UP + "/team/app", image.manifestDigest()));
    up.putBlob("team/app", CosignSignatures.EMPTY_JSON);
    up.putBlob("team/app", bundle);
    // Only the API lists it: the upstream answers GET /v2/team/app/referrers/<digest> from the
    // manifests whose subject is the digest, and holds no sha256-<hex> tag.
    up.putManifest(
        "team/app",
        OciJson.IMAGE_MANIFEST,
        CosignSignatures.bundleManifest(
            bundle, OciJson.descriptor(OciJson.IMAGE_MANIFEST, image.manifest())));

    assertThat(manifest(r, new Tag("v1")).digest().toString()).isEqualTo(image.manifestDigest());
    RegistryException e = failure(r.manifest(REPO, new Tag("v2"), MediaTypes.ALL_MANIFESTS));
    assertThat(e.status()).as(e.getMessage()).isEqualTo(403);
    assertThat(up.requests("GET", "/v2/team/app/referrers/" + image.manifestDigest()))
        .as("found through the API")
        .isNotEmpty();
  }

  @Test
  void offline_theCachedSignatureStillAdmits_andAnImageNeverVerifiedIsRefused() throws Exception {
    HostileRegistry.Image signed = up.putImage("team/app", "v1", "one".getBytes());
    sign(signed, UP + "/team/app:v1");
    up.putImage("team/app", "v2", "two".getBytes());
    Registry online = wire();
    manifest(online, new Tag("v1"));
    failure(online.manifest(REPO, new Tag("v2"), MediaTypes.ALL_MANIFESTS));
    upstreams.close();
    store.close();

    Registry offline =
        wire(Set.of(UP), new SignedIdentity.MatchRepoDigestOrExact(), Duration.ofSeconds(30));

    assertThat(manifest(offline, new Tag("v1")).digest().toString())
        .isEqualTo(signed.manifestDigest());
    RegistryException e = failure(offline.manifest(REPO, new Tag("v2"), MediaTypes.ALL_MANIFESTS));
    assertThat(e.status()).as(e.getMessage()).isEqualTo(403);
    assertThat(e.getMessage()).contains("no_signature");
  }

  @Test
  void aHead_isAnsweredOnlyForAnAdmittedManifest_asTheGetWouldBe() throws Exception {
    Registry r = wire();
    HostileRegistry.Image signed = up.putImage("team/app", "v1", "one".getBytes());
    sign(signed, UP + "/team/app:v1");
    up.putImage("team/app", "v2", "two".getBytes());

    assertThat(get(r.manifestHead(REPO, new Tag("v1"), MediaTypes.ALL_MANIFESTS)).digest())
        .isEqualTo(Digest.parse(signed.manifestDigest()));
    assertThat(get(r.manifestHead(REPO, new Tag("v1"), MediaTypes.ALL_MANIFESTS)).digest())
        .as("again, from the remembered verdict")
        .isEqualTo(Digest.parse(signed.manifestDigest()));
    RegistryException e = failure(r.manifestHead(REPO, new Tag("v2"), MediaTypes.ALL_MANIFESTS));
    assertThat(e.status()).isEqualTo(403);
    assertThat(e.getMessage()).contains("no_signature");
  }

  @Test
  void warm_goesThroughThePolicy_anUnsignedImageIsNotWarmed_aSignedOneIs() throws Exception {
    wire();
    HostileRegistry.Image signed = up.putImage("team/app", "v1", "one".getBytes());
    sign(signed, UP + "/team/app:v1");
    HostileRegistry.Image unsigned = up.putImage("team/app", "v2", "two".getBytes());

    var report =
        get(
            upstreams
                .airgap()
                .warmer()
                .warm(
                    List.of(
                        ImageRef.parse(UP + "/team/app:v1", List.of(UP), UP),
                        ImageRef.parse(UP + "/team/app:v2", List.of(UP), UP)),
                    Set.of()));

    assertThat(report.items().get(0).ok()).as(report.items().get(0).problems().toString()).isTrue();
    assertThat(report.items().get(1).ok()).isFalse();
    assertThat(report.items().get(1).problems().toString()).contains("no_signature");
    assertThat(up.count("GET", "/v2/team/app/blobs/" + unsigned.layerDigests().get(0))).isZero();
  }
}
