package dev.ociproxy.core.airgap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.testing.CosignSignatures;
import dev.ociproxy.testing.Lie;
import dev.ociproxy.testing.OciJson;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Warming through a real pull-through registry: everything verified, cached content skipped. */
class WarmerTest {
  private static final String UP = MirrorFixture.UP;
  private static final String SBOM = "application/spdx+json";
  private static final String EMPTY = "application/vnd.oci.empty.v1+json";

  @TempDir Path tmp;
  MirrorFixture f;
  Warmer warmer;

  @BeforeEach
  void start() {
    f = new MirrorFixture(tmp.resolve("cache"), Duration.ofSeconds(30));
    warmer = new Warmer(f::registry, 2);
  }

  @AfterEach
  void close() {
    f.close();
  }

  private ImageRef ref(String s) {
    return ImageRef.parse(s, List.of(UP), UP);
  }

  private WarmReport warm(Set<Platform> platforms, WarmProgress progress, String... refs)
      throws Exception {
    List<ImageRef> list = new ArrayList<>();
    for (String r : refs) {
      list.add(ref(r));
    }
    return warmer.warm(list, platforms, progress).get(60, TimeUnit.SECONDS);
  }

  @Test
  void warmingAnIndex_fetchesEveryPlatformsManifestConfigAndLayers() throws Exception {
    Images.Image app = Images.push(f.up, Images.multiArch("test/app", "v1", 1));
    List<WarmProgress.Snapshot> seen = new ArrayList<>();
    WarmProgress progress =
        new WarmProgress(
            s -> {
              synchronized (seen) {
                seen.add(s);
              }
            });

    WarmReport r = warm(Set.of(), progress, "up.test/test/app:v1");

    assertThat(r.ok()).as(String.join("\n", r.lines())).isTrue();
    WarmReport.Item item = r.items().get(0);
    assertThat(item.digest()).isEqualTo(app.index());
    assertThat(item.manifests()).isEqualTo(3);
    assertThat(item.blobsFetched()).isEqualTo(6);
    app.manifests().forEach(d -> assertThat(f.store.readManifest(d)).isNotNull());
    app.blobs().forEach(d -> assertThat(f.store.blobSize(d)).isPositive());
    WarmProgress.Snapshot end = progress.snapshot();
    assertThat(end.blobsDone()).isEqualTo(6);
    assertThat(end.bytesDone()).isEqualTo(end.bytesTotal()).isEqualTo(item.bytesFetched());
    assertThat(seen).hasSize(6);
  }

  @Test
  void warmingOnePlatform_fetchesOnlyThatPlatformsContent() throws Exception {
    Images.Image app = Images.push(f.up, Images.multiArch("test/app", "v1", 1));

    WarmReport r = warm(Set.of(Platform.parse("linux/arm64")), new WarmProgress(), "test/app:v1");

    assertThat(r.ok()).isTrue();
    assertThat(f.store.readManifest(app.platform(Images.ARM64).manifest())).isNotNull();
    assertThat(f.store.readManifest(app.platform(Images.AMD64).manifest())).isNull();
    app.platform(Images.ARM64)
        .blobs()
        .keySet()
        .forEach(d -> assertThat(f.store.blobSize(d)).isPositive());
    app.platform(Images.AMD64)
        .blobs()
        .keySet()
        .forEach(d -> assertThat(f.store.blobSize(d)).isEqualTo(-1));
  }

  @Test
  void secondWarm_findsEverythingCached_andFetchesNoBlob() throws Exception {
    Images.push(f.up, Images.multiArch("test/app", "v1", 1));
    warm(Set.of(), new WarmProgress(), "test/app:v1");
    f.up.clearRequests();

    WarmReport r = warm(Set.of(), new WarmProgress(), "test/app:v1");

    assertThat(r.ok()).isTrue();
    assertThat(r.items().get(0).blobsFetched()).isZero();
    assertThat(r.items().get(0).blobsCached()).isEqualTo(6);
    assertThat(f.up.requests(null, "/v2/test/app/blobs/")).isEmpty();
  }

  @Test
  void aBlobTheUpstreamLiesAbout_failsThatReference_isNamedInTheReport_andIsNotCached()
      throws Exception {
    Images.Image app = Images.push(f.up, Images.multiArch("test/app", "v1", 1));
    Images.Image fine = Images.push(f.up, Images.multiArch("test/fine", "v1", 2));
    Digest lied = app.firstLayer(Images.AMD64);
    f.up.lie(lied.toString(), Lie.FLIP_LAST_BYTE);

    WarmReport r =
        warm(Set.of(), new WarmProgress(), "test/app:v1", "test/fine:v1", "test/app:nope");

    assertThat(r.ok()).isFalse();
    assertThat(r.failed()).isEqualTo(2);
    assertThat(r.items().get(0).problems())
        .singleElement()
        .satisfies(p -> assertThat(p).contains("blob " + lied));
    assertThat(r.items().get(1).ok()).isTrue();
    assertThat(r.items().get(2).problems())
        .singleElement()
        .satisfies(p -> assertThat(p).contains("MANIFEST_UNKNOWN"));
    assertThat(f.store.blobSize(lied)).isEqualTo(-1);
    fine.blobs().forEach(d -> assertThat(f.store.blobSize(d)).isPositive());
    assertThat(String.join("\n", r.lines()))
        .contains("FAIL  up.test/test/app:v1")
        .contains("2 failed");
  }

  @Test
  void warmingThroughAnOfflineMirror_failsWithoutContactingTheUpstream() throws Exception {
    Images.push(f.up, Images.multiArch("test/app", "v1", 1));
    f.gate(
        new AirgapOptions(
            Set.of(UP), Set.of(), null, List.of(), AirgapOptions.DEFAULT_WARM_INTERVAL));

    WarmReport r = warm(Set.of(), new WarmProgress(), "test/app:v1");

    assertThat(r.ok()).isFalse();
    assertThat(r.items().get(0).problems().get(0)).contains("offline");
    assertThat(f.up.requests()).isEmpty();
  }

  @Test
  void theConfiguredWarmListRunsAsJobsTheStatusPageSees_withTheirOriginAndReport()
      throws Exception {
    Images.Image app = Images.push(f.up, Images.multiArch("test/listed", "v1", 7));
    AirgapOptions options =
        new AirgapOptions(
            Set.of(),
            Set.of(),
            null,
            List.of(new AirgapOptions.WarmEntry(ref("up.test/test/listed:v1"), Set.of())),
            Duration.ofHours(1));

    Airgap airgap = f.gate(options); // starts the background warm at once

    await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> airgap.warmJobs().all().stream().anyMatch(j -> j.finished() != null));
    WarmJobs.Job job = airgap.warmJobs().all().get(0);
    assertThat(job.origin()).isEqualTo(Airgap.CONFIGURED);
    assertThat(job.refs()).containsExactly("up.test/test/listed:v1");
    assertThat(job.report().ok()).isTrue();
    assertThat(job.progress().snapshot().blobsDone())
        .isEqualTo(job.progress().snapshot().blobsTotal())
        .isGreaterThan(0);
    for (Images.PlatformImage p : app.platforms()) {
      p.blobs()
          .keySet()
          .forEach(d -> assertThat(f.store.blobSize(d)).as("%s cached", d).isPositive());
    }
  }

  private WarmReport warmWith(Attached attached, String ref) throws Exception {
    return warmer
        .warm(List.of(ref(ref)), Set.of(), attached, new WarmProgress())
        .get(60, TimeUnit.SECONDS);
  }

  @Test
  void warmWithReferrers_takesTheVerifiedReferrersOfEveryManifestWarmed_andTheirBlobs()
      throws Exception {
    Images.Image app = Images.push(f.up, Images.multiArch("test/app", "v1", 1));
    byte[] empty = "{}".getBytes(StandardCharsets.UTF_8);
    f.up.putBlob("test/app", empty);
    byte[] sbom = OciJson.artifact(SBOM, EMPTY, app.index().toString(), "sbom");
    byte[] onArm =
        OciJson.artifact(
            "application/vnd.example.signature",
            EMPTY,
            app.platform(Images.ARM64).manifest().toString(),
            "signature");
    f.up.putManifest("test/app", OciJson.IMAGE_MANIFEST, sbom);
    f.up.putManifest("test/app", OciJson.IMAGE_MANIFEST, onArm);

    WarmReport r = warmWith(new Attached(true, Set.of(), false), "test/app:v1");

    assertThat(r.ok()).as(String.join("\n", r.lines())).isTrue();
    assertThat(r.items().get(0).referrers()).isEqualTo(2);
    assertThat(f.store.readManifest(Digest.sha256(sbom))).isNotNull();
    assertThat(f.store.readManifest(Digest.sha256(onArm))).isNotNull();
    assertThat(f.store.blobSize(Digest.sha256(empty))).isEqualTo(empty.length);
    assertThat(String.join("\n", r.lines())).contains("2 referrer(s)");
  }

  @Test
  void warmWithReferrersOfOneArtifactType_takesOnlyThose() throws Exception {
    Images.Image app = Images.push(f.up, Images.multiArch("test/app", "v1", 1));
    f.up.putBlob("test/app", "{}".getBytes(StandardCharsets.UTF_8));
    f.up.putManifest(
        "test/app",
        OciJson.IMAGE_MANIFEST,
        OciJson.artifact(SBOM, EMPTY, app.index().toString(), "sbom"));
    f.up.putManifest(
        "test/app",
        OciJson.IMAGE_MANIFEST,
        OciJson.artifact("application/vnd.example.other", EMPTY, app.index().toString(), "x"));

    WarmReport r = warmWith(new Attached(true, Set.of(SBOM), false), "test/app:v1");

    assertThat(r.ok()).as(String.join("\n", r.lines())).isTrue();
    assertThat(r.items().get(0).referrers()).isEqualTo(1);
  }

  @Test
  void warmWithSignatures_takesTheSigTagWithItsPayload_andBundleReferrers_butNoOtherReferrer()
      throws Exception {
    Images.Image app = Images.push(f.up, Images.multiArch("test/app", "v1", 1));
    String index = app.index().toString();
    KeyPair key = CosignSignatures.ecKey();
    CosignSignatures.Layer signed =
        CosignSignatures.Layer.signed(
            key.getPrivate(), CosignSignatures.payload(UP + "/test/app:v1", index));
    f.up.putBlob("test/app", CosignSignatures.signatureConfig());
    f.up.putBlob("test/app", signed.payload());
    byte[] classic = CosignSignatures.signatureManifest(signed);
    f.up.putManifest(
        "test/app", CosignSignatures.signatureTag(index), OciJson.IMAGE_MANIFEST, classic);
    byte[] bundle =
        CosignSignatures.bundle(
            key.getPrivate(), CosignSignatures.statement(UP + "/test/app", index));
    f.up.putBlob("test/app", CosignSignatures.EMPTY_JSON);
    f.up.putBlob("test/app", bundle);
    byte[] bundleManifest =
        CosignSignatures.bundleManifest(
            bundle, OciJson.descriptor(OciJson.IMAGE_INDEX, app.indexBytes()));
    f.up.putManifest("test/app", OciJson.IMAGE_MANIFEST, bundleManifest);
    byte[] sbom = OciJson.artifact(SBOM, EMPTY, index, "sbom");
    f.up.putManifest("test/app", OciJson.IMAGE_MANIFEST, sbom);

    WarmReport r = warmWith(new Attached(false, Set.of(), true), "test/app:v1");

    assertThat(r.ok()).as(String.join("\n", r.lines())).isTrue();
    assertThat(r.items().get(0).signatures()).isEqualTo(2);
    assertThat(r.items().get(0).referrers()).isZero();
    assertThat(f.store.readManifest(Digest.sha256(classic))).isNotNull();
    assertThat(f.store.blobSize(Digest.sha256(signed.payload())))
        .isEqualTo(signed.payload().length);
    assertThat(f.store.readManifest(Digest.sha256(bundleManifest))).isNotNull();
    assertThat(f.store.blobSize(Digest.sha256(bundle))).isEqualTo(bundle.length);
    assertThat(r.items().get(0).manifests())
        .as("the index, its 2 platforms and the 2 signatures; not the SBOM")
        .isEqualTo(5);
    assertThat(String.join("\n", r.lines())).contains("2 signature(s)");
  }
}
