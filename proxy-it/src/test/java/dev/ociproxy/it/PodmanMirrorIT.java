package dev.ociproxy.it;

import static dev.ociproxy.it.CacheAssertions.assertNoFileWithContent;
import static dev.ociproxy.it.CacheAssertions.assertNotCached;
import static dev.ociproxy.it.ClientRig.HOSTILE;
import static dev.ociproxy.it.ClientRig.OPEN;
import static dev.ociproxy.it.ClientRig.PRIVATE;
import static dev.ociproxy.it.ClientRig.READER;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ociproxy.it.support.CommandResult;
import dev.ociproxy.it.support.HostileImages;
import dev.ociproxy.it.support.OciImage;
import dev.ociproxy.it.support.OciImages;
import dev.ociproxy.it.support.Platform;
import dev.ociproxy.it.support.Podman;
import dev.ociproxy.it.support.ProcessGuard;
import dev.ociproxy.it.support.UpstreamRegistry;
import dev.ociproxy.testing.HostileRegistry;
import dev.ociproxy.testing.Lie;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * podman 4.3 (the containers/image library CRI-O uses too) pulls through the proxy as a
 * {@code registries.conf} mirror of each upstream, {@code location = "<proxy>/<upstream>"}: what it
 * stores has exactly the upstream's digests, the proxy serves the same pull into a fresh store with the
 * upstream switched off, and a lying upstream fails the pull and leaves the lie neither in podman's
 * store nor in the proxy's cache.
 */
@ExtendWith(ProcessGuard.class)
class PodmanMirrorIT {
  static ClientRig rig;
  private final List<Podman> podmans = new ArrayList<>();

  @BeforeAll
  static void start() {
    ClientRig.availability().and(Podman.availability()).assumeAvailable();
    rig = ClientRig.start(OPEN);
  }

  @AfterAll
  static void stop() {
    if (rig != null) {
      rig.close();
    }
  }

  @AfterEach
  void removeStores() {
    podmans.forEach(Podman::close);
  }

  /** A podman with empty private storage whose registries.conf mirrors every upstream through the proxy. */
  private Podman freshPodman() {
    Podman p = Podman.create();
    podmans.add(p);
    for (String registry : new String[] {OPEN, PRIVATE, HOSTILE}) {
      p.mirror(registry, rig.proxy.hostPort() + "/" + registry);
    }
    return p;
  }

  private static void assertStored(Podman podman, String ref, OciImage.PlatformImage image) {
    assertStored(podman, ref, image.manifest().digest(), image);
  }

  /**
   * Checks what podman stored under {@code ref}: the digest the reference resolved to ({@code top}, the
   * index for a multi-arch image), the platform manifest among its repo digests, the config digest as
   * image ID and the layers' diff IDs.
   */
  private static void assertStored(Podman podman, String ref, String top, OciImage.PlatformImage image) {
    JsonNode inspect = podman.inspect(ref);
    String name = ref.substring(0, ref.contains("@") ? ref.indexOf('@') : ref.lastIndexOf(':'));
    assertThat(inspect.path("Digest").asText()).isEqualTo(top);
    assertThat(podman.repoDigests(ref)).contains(name + "@" + image.manifest().digest());
    assertThat("sha256:" + inspect.path("Id").asText()).isEqualTo(image.config().digest());
    List<String> diffIds = new ArrayList<>();
    inspect.path("RootFS").path("Layers").forEach(n -> diffIds.add(n.asText()));
    assertThat(diffIds).containsExactlyElementsOf(image.diffIds());
  }

  @Test
  void singleArchByTag_isStoredWithTheUpstreamDigests_andPulledAgainWithUpstreamDown() throws Exception {
    OciImage image = OciImages.singleArch(rig.layout("tag"), "v1", 300_000, 20_000);
    String ref = OPEN + "/pod/tag:v1";
    try (UpstreamRegistry up = rig.startOpen()) {
      rig.push(image, up, "pod/tag");

      Podman podman = freshPodman();
      podman.pull(ref);

      assertStored(podman, ref, image.image());
      assertThat(rig.accessLog("/v2/" + OPEN + "/pod/tag/manifests/")).extracting(ClientRig.Access::line)
          .contains("GET /v2/" + OPEN + "/pod/tag/manifests/v1 200");

      Podman offline = freshPodman();
      ClientRig.withUpstreamDown(up, () -> offline.pull(ref));

      assertStored(offline, ref, image.image());
    }
  }

  @Test
  void singleArchByDigest_isStoredWithTheUpstreamDigests_andPulledAgainWithUpstreamDown() throws Exception {
    OciImage image = OciImages.singleArch(rig.layout("digest"), "v1", 200_000);
    String ref = OPEN + "/pod/digest@" + image.manifestDigest();
    try (UpstreamRegistry up = rig.startOpen()) {
      rig.push(image, up, "pod/digest");

      Podman podman = freshPodman();
      podman.pull(ref);

      assertStored(podman, ref, image.image());

      Podman offline = freshPodman();
      ClientRig.withUpstreamDown(up, () -> offline.pull(ref));

      assertStored(offline, ref, image.image());
    }
  }

  @Test
  void multiArchIndex_eachPlatformIsStoredWithItsDigests_andPulledAgainWithUpstreamDown() throws Exception {
    OciImage image = OciImages.multiArch(rig.layout("multi"), "multi", 150_000, 10_000);
    String ref = OPEN + "/pod/multi:multi";
    try (UpstreamRegistry up = rig.startOpen()) {
      rig.push(image, up, "pod/multi");

      Podman amd64 = freshPodman();
      amd64.pull(ref, "--arch", "amd64");
      Podman arm64 = freshPodman();
      arm64.pull(ref, "--arch", "arm64");

      assertStored(amd64, ref, image.digest(), image.image(Platform.LINUX_AMD64));
      assertStored(arm64, ref, image.digest(), image.image(Platform.LINUX_ARM64));

      Podman offline = freshPodman();
      ClientRig.withUpstreamDown(up, () -> offline.pull(ref, "--arch", "arm64"));

      assertStored(offline, ref, image.digest(), image.image(Platform.LINUX_ARM64));
    }
  }

  @Test
  void manySmallLayers_areAllStored_andPulledAgainWithUpstreamDown() throws Exception {
    OciImage image = OciImages.manySmallLayers(rig.layout("many"), "v1", 40, 2_000);
    String ref = OPEN + "/pod/many:v1";
    try (UpstreamRegistry up = rig.startOpen()) {
      rig.push(image, up, "pod/many");

      Podman podman = freshPodman();
      podman.pull(ref);

      assertStored(podman, ref, image.image());

      Podman offline = freshPodman();
      ClientRig.withUpstreamDown(up, () -> offline.pull(ref));

      assertStored(offline, ref, image.image());
    }
  }

  @Test
  void privateTokenUpstream_isPulledWithoutClientCredentials_becauseTheProxyDoesTheBearerFlow() throws Exception {
    OciImage image = OciImages.singleArch(rig.layout("private"), "v1", 250_000);
    String ref = PRIVATE + "/pod/private:v1";
    try (UpstreamRegistry up = rig.startPrivate()) {
      rig.push(image, up, "pod/private");

      Podman podman = freshPodman();
      podman.pull(ref);

      assertStored(podman, ref, image.image());
      // Only the proxy knows the reader's password.
      assertThat(rig.tokens.requests()).anySatisfy(r -> {
        assertThat(r.user()).isEqualTo(READER.username());
        assertThat(r.scopes()).contains("repository:pod/private:pull");
        assertThat(r.status()).isEqualTo(200);
      });

      Podman offline = freshPodman();
      ClientRig.withUpstreamDown(up, () -> offline.pull(ref));

      assertStored(offline, ref, image.image());
    }
  }

  @Test
  void layerWithFlippedLastByte_failsThePull_andNeitherPodmanNorTheCacheKeepsIt() {
    OciImage image = OciImages.singleArch(rig.layout("flip"), "v1", 200_000, 30_000);
    HostileImages.put(rig.hostile, image, "pod/flip");
    String liar = image.image().layers().get(0).digest();
    rig.hostile.lie(liar, Lie.FLIP_LAST_BYTE);
    String ref = HOSTILE + "/pod/flip:v1";
    Podman podman = freshPodman();

    CommandResult pull = podman.tryPull(ref);

    assertThat(pull.succeeded()).as(pull.describe()).isFalse();
    assertThat(podman.podman("images", "-q", "--all").orThrow().stdout()).isBlank();
    assertThat(rig.hostile.count("GET", "/v2/pod/flip/blobs/" + liar)).isGreaterThanOrEqualTo(1);
    assertNotCached(rig.proxy.cacheDir(), liar);
  }

  @Test
  void platformManifestSubstitutedByTheUpstream_failsThePull_andNeitherPodmanNorTheCacheKeepsIt() {
    OciImage image = OciImages.multiArch(rig.layout("subst"), "multi", 20_000);
    HostileImages.put(rig.hostile, image, "pod/subst");
    String child = image.image(Platform.LINUX_AMD64).manifest().digest();
    rig.hostile.lie(child, Lie.MANIFEST_BY_DIGEST_SUBSTITUTED);
    Podman podman = freshPodman();

    CommandResult pull = podman.tryPull(HOSTILE + "/pod/subst:multi", "--arch", "amd64");

    assertThat(pull.succeeded()).as(pull.describe()).isFalse();
    assertThat(podman.podman("images", "-q", "--all").orThrow().stdout()).isBlank();
    assertThat(rig.awaitAccessLog("/pod/subst/manifests/" + child))
        .isNotEmpty().allSatisfy(a -> assertThat(a.status()).isEqualTo(502));
    assertNotCached(rig.proxy.cacheDir(), child);
    assertNoFileWithContent(rig.proxy.cacheDir(), HostileRegistry.substituteManifest());
  }
}
