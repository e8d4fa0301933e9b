package dev.ociproxy.it;

import static dev.ociproxy.it.CacheAssertions.assertCached;
import static dev.ociproxy.it.CacheAssertions.assertNoFileWithContent;
import static dev.ociproxy.it.CacheAssertions.assertNotCached;
import static dev.ociproxy.it.ClientRig.HOSTILE;
import static dev.ociproxy.it.ClientRig.OPEN;
import static dev.ociproxy.it.ClientRig.PRIVATE;
import static dev.ociproxy.it.ClientRig.READER;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.it.support.CommandResult;
import dev.ociproxy.it.support.Containerd;
import dev.ociproxy.it.support.HostileImages;
import dev.ociproxy.it.support.OciImage;
import dev.ociproxy.it.support.OciImages;
import dev.ociproxy.it.support.Platform;
import dev.ociproxy.it.support.ProcessGuard;
import dev.ociproxy.it.support.UpstreamRegistry;
import dev.ociproxy.testing.HostileRegistry;
import dev.ociproxy.testing.Lie;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * containerd 1.6 pulls through the proxy as a {@code hosts.toml} mirror (every request carries
 * {@code ?ns=<registry>}): what it stores has exactly the upstream's digests, the proxy then serves
 * the same pull with the upstream switched off, and an upstream that lies fails the pull and leaves
 * the lie neither in containerd nor in the proxy's cache.
 */
@ExtendWith(ProcessGuard.class)
class ContainerdMirrorIT {
  static ClientRig rig;
  static Containerd containerd;

  @BeforeAll
  static void start() {
    ClientRig.availability().and(Containerd.availability()).assumeAvailable();
    rig = ClientRig.start(OPEN);
    containerd = Containerd.start();
    for (String registry : new String[] {OPEN, PRIVATE, HOSTILE}) {
      containerd.mirror(registry, rig.proxy.hostPort());
    }
  }

  @AfterAll
  static void stop() {
    try {
      if (containerd != null) {
        containerd.close();
      }
    } finally {
      if (rig != null) {
        rig.close();
      }
    }
  }

  @BeforeEach
  void freshStore() {
    emptyStore();
  }

  /**
   * Removes every image and every blob (a failed pull leaves unreferenced content that the garbage
   * collector keeps until its lease expires), so the next pull starts from an empty store.
   */
  private static void emptyStore() {
    containerd.removeAllImages();
    Set<String> left = containerd.contentDigests();
    if (!left.isEmpty()) {
      List<String> args = new ArrayList<>(List.of("content", "rm"));
      args.addAll(left);
      containerd.ctr(args.toArray(String[]::new)).orThrow();
    }
    assertThat(containerd.contentDigests()).as("containerd content after emptying the store").isEmpty();
  }

  @Test
  void singleArchByTag_headsTheTagThenGetsByDigest_storesTheUpstreamDigests_andPullsAgainWithUpstreamDown()
      throws Exception {
    OciImage image = OciImages.singleArch(rig.layout("tag"), "v1", 300_000, 20_000);
    String ref = OPEN + "/ctr/tag:v1";
    try (UpstreamRegistry up = rig.startOpen()) {
      rig.push(image, up, "ctr/tag");

      containerd.pull(ref);

      assertThat(containerd.imageDigest(ref)).isEqualTo(image.manifestDigest());
      assertThat(containerd.contentDigests()).containsExactlyInAnyOrderElementsOf(image.image().allDigests());
      // containerd resolves a tag with HEAD (reading Docker-Content-Digest), then GETs by digest.
      assertThat(rig.accessLog("/v2/ctr/tag/manifests/")).extracting(ClientRig.Access::line).contains(
          "HEAD /v2/ctr/tag/manifests/v1?ns=" + OPEN + " 200",
          "GET /v2/ctr/tag/manifests/" + image.manifestDigest() + "?ns=" + OPEN + " 200");
      assertCached(rig.proxy.cacheDir(), "manifests", image.manifestDigest());
      image.image().blobDigests().forEach(d -> assertCached(rig.proxy.cacheDir(), "blobs", d));

      emptyStore();
      ClientRig.withUpstreamDown(up, () -> containerd.pull(ref));

      assertThat(containerd.imageDigest(ref)).isEqualTo(image.manifestDigest());
      assertThat(containerd.contentDigests()).containsExactlyInAnyOrderElementsOf(image.image().allDigests());
    }
  }

  @Test
  void singleArchByDigest_storesTheUpstreamDigests_andPullsAgainWithUpstreamDown() throws Exception {
    OciImage image = OciImages.singleArch(rig.layout("digest"), "v1", 200_000);
    String ref = OPEN + "/ctr/digest@" + image.manifestDigest();
    try (UpstreamRegistry up = rig.startOpen()) {
      rig.push(image, up, "ctr/digest");

      containerd.pull(ref);

      assertThat(containerd.imageDigest(ref)).isEqualTo(image.manifestDigest());
      assertThat(containerd.contentDigests()).containsExactlyInAnyOrderElementsOf(image.image().allDigests());

      emptyStore();
      ClientRig.withUpstreamDown(up, () -> containerd.pull(ref));

      assertThat(containerd.contentDigests()).containsExactlyInAnyOrderElementsOf(image.image().allDigests());
    }
  }

  @Test
  void multiArchIndexWithAllPlatforms_storesEveryManifestAndLayer_andPullsAgainWithUpstreamDown() throws Exception {
    OciImage image = OciImages.multiArch(rig.layout("multi"), "multi", 150_000, 10_000);
    String ref = OPEN + "/ctr/multi:multi";
    try (UpstreamRegistry up = rig.startOpen()) {
      rig.push(image, up, "ctr/multi");

      containerd.pull(ref, "--all-platforms");

      assertThat(containerd.imageDigest(ref)).isEqualTo(image.digest());
      assertThat(containerd.contentDigests()).containsExactlyInAnyOrderElementsOf(image.allDigests());

      emptyStore();
      ClientRig.withUpstreamDown(up, () -> containerd.pull(ref, "--all-platforms"));

      assertThat(containerd.contentDigests()).containsExactlyInAnyOrderElementsOf(image.allDigests());
    }
  }

  @Test
  void manySmallLayers_areAllStored_andPulledAgainWithUpstreamDown() throws Exception {
    OciImage image = OciImages.manySmallLayers(rig.layout("many"), "v1", 40, 2_000);
    String ref = OPEN + "/ctr/many:v1";
    try (UpstreamRegistry up = rig.startOpen()) {
      rig.push(image, up, "ctr/many");

      containerd.pull(ref);

      assertThat(containerd.contentDigests()).hasSize(42)
          .containsExactlyInAnyOrderElementsOf(image.image().allDigests());

      emptyStore();
      ClientRig.withUpstreamDown(up, () -> containerd.pull(ref));

      assertThat(containerd.contentDigests()).containsExactlyInAnyOrderElementsOf(image.image().allDigests());
    }
  }

  @Test
  void privateTokenUpstream_isPulledWithoutClientCredentials_becauseTheProxyDoesTheBearerFlow() throws Exception {
    OciImage image = OciImages.singleArch(rig.layout("private"), "v1", 250_000);
    String ref = PRIVATE + "/ctr/private:v1";
    try (UpstreamRegistry up = rig.startPrivate()) {
      rig.push(image, up, "ctr/private");

      containerd.pull(ref);

      assertThat(containerd.imageDigest(ref)).isEqualTo(image.manifestDigest());
      assertThat(containerd.contentDigests()).containsExactlyInAnyOrderElementsOf(image.image().allDigests());
      // Only the proxy knows the reader's password.
      assertThat(rig.tokens.requests()).anySatisfy(r -> {
        assertThat(r.user()).isEqualTo(READER.username());
        assertThat(r.scopes()).contains("repository:ctr/private:pull");
        assertThat(r.status()).isEqualTo(200);
      });

      emptyStore();
      ClientRig.withUpstreamDown(up, () -> containerd.pull(ref));

      assertThat(containerd.contentDigests()).containsExactlyInAnyOrderElementsOf(image.image().allDigests());
    }
  }

  @Test
  void layerWithFlippedLastByte_failsThePull_andNeitherContainerdNorTheCacheKeepsIt() {
    OciImage image = OciImages.singleArch(rig.layout("flip"), "v1", 200_000, 30_000);
    HostileImages.put(rig.hostile, image, "ctr/flip");
    String liar = image.image().layers().get(0).digest();
    rig.hostile.lie(liar, Lie.FLIP_LAST_BYTE);
    String ref = HOSTILE + "/ctr/flip:v1";

    CommandResult pull = containerd.tryPull(ref);

    assertThat(pull.succeeded()).as(pull.describe()).isFalse();
    assertThat(containerd.ctr("image", "ls", "-q").orThrow().stdout()).doesNotContain(ref);
    assertThat(containerd.contentDigests()).doesNotContain(liar);
    assertThat(rig.hostile.count("GET", "/v2/ctr/flip/blobs/" + liar)).isGreaterThanOrEqualTo(1);
    assertNotCached(rig.proxy.cacheDir(), liar);
  }

  @Test
  void platformManifestSubstitutedByTheUpstream_failsThePull_andNeitherContainerdNorTheCacheKeepsIt() {
    OciImage image = OciImages.multiArch(rig.layout("subst"), "multi", 20_000);
    HostileImages.put(rig.hostile, image, "ctr/subst");
    String child = image.image(Platform.LINUX_AMD64).manifest().digest();
    rig.hostile.lie(child, Lie.MANIFEST_BY_DIGEST_SUBSTITUTED);
    String ref = HOSTILE + "/ctr/subst:multi";
    String substitute = CacheAssertions.sha256(HostileRegistry.substituteManifest());

    CommandResult pull = containerd.tryPull(ref);

    assertThat(pull.succeeded()).as(pull.describe()).isFalse();
    assertThat(containerd.ctr("image", "ls", "-q").orThrow().stdout()).doesNotContain(ref);
    Set<String> stored = containerd.contentDigests();
    assertThat(stored).doesNotContain(substitute, child);
    assertThat(rig.awaitAccessLog("/v2/ctr/subst/manifests/" + child))
        .isNotEmpty().allSatisfy(a -> assertThat(a.status()).isEqualTo(502));
    assertNotCached(rig.proxy.cacheDir(), child);
    assertNoFileWithContent(rig.proxy.cacheDir(), HostileRegistry.substituteManifest());
  }
}
