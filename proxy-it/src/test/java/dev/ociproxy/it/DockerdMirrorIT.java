package dev.ociproxy.it;

import static dev.ociproxy.it.CacheAssertions.assertNoFileWithContent;
import static dev.ociproxy.it.CacheAssertions.assertNotCached;
import static dev.ociproxy.it.ClientRig.READER;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ociproxy.it.support.CommandResult;
import dev.ociproxy.it.support.Dockerd;
import dev.ociproxy.it.support.HostileImages;
import dev.ociproxy.it.support.OciImage;
import dev.ociproxy.it.support.OciImages;
import dev.ociproxy.it.support.Platform;
import dev.ociproxy.it.support.ProcessGuard;
import dev.ociproxy.it.support.ProxyProcess;
import dev.ociproxy.it.support.UpstreamRegistry;
import dev.ociproxy.testing.HostileRegistry;
import dev.ociproxy.testing.Lie;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Docker Engine 20.10 pulls Docker Hub names ({@code docker pull test/tag:v1}) through the proxy as its
 * {@code registry-mirrors} entry, which reaches the proxy's default upstream, here called
 * {@code docker.io}: what dockerd stores has exactly the upstream's digests, the proxy serves the same
 * pull with the upstream switched off, and a lying upstream fails the pull and leaves the lie neither
 * in dockerd nor in the proxy's cache.
 *
 * <p>A mirror serves only one upstream for dockerd, so the token-auth and lying upstreams sit behind
 * proxies of their own, and the test switches dockerd's mirror with a configuration reload.
 */
@ExtendWith(ProcessGuard.class)
class DockerdMirrorIT {
  private static final String HUB = "docker.io";

  static ClientRig rig;
  static Dockerd dockerd;

  @BeforeAll
  static void start() {
    ClientRig.availability().and(Dockerd.availability()).assumeAvailable();
    rig = ClientRig.start(HUB);
    // One attempt per layer: a lying upstream fails the pull at once, not after 5 retries and 75 s of back-off.
    dockerd = Dockerd.start(List.of(rig.proxy.url()), List.of(), cfg -> cfg.put("max-download-attempts", 1));
  }

  @AfterAll
  static void stop() {
    try {
      if (dockerd != null) {
        dockerd.close();
      }
    } finally {
      if (rig != null) {
        rig.close();
      }
    }
  }

  @BeforeEach
  void emptyStoreAndDefaultMirror() {
    emptyStore();
    useMirror(rig.proxy);
  }

  private static void useMirror(ProxyProcess proxy) {
    dockerd.registryMirrors(List.of(proxy.url()));
  }

  /** Removes every image (and so every layer) from dockerd. */
  private static void emptyStore() {
    String ids = dockerd.docker("image", "ls", "-a", "-q").orThrow().stdout().strip();
    if (!ids.isEmpty()) {
      List<String> args = new ArrayList<>(List.of("image", "rm", "-f"));
      args.addAll(List.of(ids.split("\\s+")));
      dockerd.docker(args.toArray(String[]::new)).orThrow();
    }
    assertThat(dockerd.docker("image", "ls", "-a", "-q").orThrow().stdout()).as("dockerd images").isBlank();
  }

  /**
   * Checks what dockerd stored under {@code ref}: the digest the name resolved to ({@code top}; the index
   * for a multi-arch image) as repo digest, the config digest as image ID and the layers' diff IDs.
   */
  private static void assertStored(String ref, String top, OciImage.PlatformImage image) {
    JsonNode inspect = dockerd.inspect(ref);
    String name = ref.substring(0, ref.contains("@") ? ref.indexOf('@') : ref.lastIndexOf(':'));
    assertThat(dockerd.repoDigests(ref)).containsExactly(name + "@" + top);
    assertThat(inspect.path("Id").asText()).isEqualTo(image.config().digest());
    List<String> diffIds = new ArrayList<>();
    inspect.path("RootFS").path("Layers").forEach(n -> diffIds.add(n.asText()));
    assertThat(diffIds).containsExactlyElementsOf(image.diffIds());
  }

  @Test
  void singleArchByTag_isStoredWithTheUpstreamDigests_andPulledAgainWithUpstreamDown() throws Exception {
    OciImage image = OciImages.singleArch(rig.layout("tag"), "v1", 300_000, 20_000);
    String ref = "test/tag:v1";
    try (UpstreamRegistry up = rig.startOpen()) {
      rig.push(image, up, "test/tag");

      dockerd.pull(ref);

      assertStored(ref, image.manifestDigest(), image.image());
      // A Docker Hub name reaches the mirror without any upstream in the path; dockerd resolves the tag
      // with HEAD (reading Docker-Content-Digest), then GETs by digest.
      assertThat(rig.accessLog("/v2/test/tag/manifests/")).extracting(ClientRig.Access::line).contains(
          "HEAD /v2/test/tag/manifests/v1 200", "GET /v2/test/tag/manifests/" + image.manifestDigest() + " 200");

      emptyStore();
      ClientRig.withUpstreamDown(up, () -> dockerd.pull(ref));

      assertStored(ref, image.manifestDigest(), image.image());
    }
  }

  @Test
  void singleArchByDigest_isStoredWithTheUpstreamDigests_andPulledAgainWithUpstreamDown() throws Exception {
    OciImage image = OciImages.singleArch(rig.layout("digest"), "v1", 200_000);
    String ref = "test/digest@" + image.manifestDigest();
    try (UpstreamRegistry up = rig.startOpen()) {
      rig.push(image, up, "test/digest");

      dockerd.pull(ref);

      assertStored(ref, image.manifestDigest(), image.image());

      emptyStore();
      ClientRig.withUpstreamDown(up, () -> dockerd.pull(ref));

      assertStored(ref, image.manifestDigest(), image.image());
    }
  }

  @Test
  void multiArchIndex_eachPlatformIsStoredWithItsDigests_andPulledAgainWithUpstreamDown() throws Exception {
    OciImage image = OciImages.multiArch(rig.layout("multi"), "multi", 150_000, 10_000);
    String ref = "test/multi:multi";
    try (UpstreamRegistry up = rig.startOpen()) {
      rig.push(image, up, "test/multi");

      dockerd.docker("pull", "--platform", "linux/arm64", ref).orThrow();
      assertStored(ref, image.digest(), image.image(Platform.LINUX_ARM64));
      emptyStore();
      dockerd.pull(ref);

      assertStored(ref, image.digest(), image.image(Platform.LINUX_AMD64));

      emptyStore();
      ClientRig.withUpstreamDown(up, () -> dockerd.docker("pull", "--platform", "linux/arm64", ref).orThrow());

      assertStored(ref, image.digest(), image.image(Platform.LINUX_ARM64));
    }
  }

  @Test
  void manySmallLayers_areAllStored_andPulledAgainWithUpstreamDown() throws Exception {
    OciImage image = OciImages.manySmallLayers(rig.layout("many"), "v1", 40, 2_000);
    String ref = "test/many:v1";
    try (UpstreamRegistry up = rig.startOpen()) {
      rig.push(image, up, "test/many");

      dockerd.pull(ref);

      assertStored(ref, image.manifestDigest(), image.image());

      emptyStore();
      ClientRig.withUpstreamDown(up, () -> dockerd.pull(ref));

      assertStored(ref, image.manifestDigest(), image.image());
    }
  }

  @Test
  void privateTokenHub_isPulledWithoutClientCredentials_becauseTheProxyDoesTheBearerFlow() throws Exception {
    OciImage image = OciImages.singleArch(rig.layout("private"), "v1", 250_000);
    String ref = "test/private:v1";
    try (UpstreamRegistry up = rig.startPrivate();
        ProxyProcess hub = rig.startHubProxy(up.url(), READER)) {
      rig.push(image, up, "test/private");
      useMirror(hub);

      dockerd.pull(ref);

      assertStored(ref, image.manifestDigest(), image.image());
      // Only the proxy knows the reader's password.
      assertThat(rig.tokens.requests()).anySatisfy(r -> {
        assertThat(r.user()).isEqualTo(READER.username());
        assertThat(r.scopes()).contains("repository:test/private:pull");
        assertThat(r.status()).isEqualTo(200);
      });

      emptyStore();
      ClientRig.withUpstreamDown(up, () -> dockerd.pull(ref));

      assertStored(ref, image.manifestDigest(), image.image());
    }
  }

  @Test
  void layerWithFlippedLastByte_failsThePull_andNeitherDockerdNorTheCacheKeepsIt() {
    OciImage image = OciImages.singleArch(rig.layout("flip"), "v1", 200_000, 30_000);
    HostileImages.put(rig.hostile, image, "test/flip");
    String liar = image.image().layers().get(0).digest();
    rig.hostile.lie(liar, Lie.FLIP_LAST_BYTE);
    try (ProxyProcess hub = rig.startHubProxy(rig.hostile.url(), null)) {
      useMirror(hub);

      CommandResult pull = dockerd.docker("pull", "test/flip:v1");

      assertThat(pull.succeeded()).as(pull.describe()).isFalse();
      assertThat(dockerd.docker("image", "ls", "-a", "-q").orThrow().stdout()).isBlank();
      assertThat(rig.hostile.count("GET", "/v2/test/flip/blobs/" + liar)).isGreaterThanOrEqualTo(1);
      assertNotCached(hub.cacheDir(), liar);
    }
  }

  @Test
  void platformManifestSubstitutedByTheUpstream_failsThePull_andNeitherDockerdNorTheCacheKeepsIt() {
    OciImage image = OciImages.multiArch(rig.layout("subst"), "multi", 20_000);
    HostileImages.put(rig.hostile, image, "test/subst");
    String child = image.image(Platform.LINUX_AMD64).manifest().digest();
    rig.hostile.lie(child, Lie.MANIFEST_BY_DIGEST_SUBSTITUTED);
    try (ProxyProcess hub = rig.startHubProxy(rig.hostile.url(), null)) {
      useMirror(hub);

      CommandResult pull = dockerd.docker("pull", "test/subst:multi");

      assertThat(pull.succeeded()).as(pull.describe()).isFalse();
      assertThat(dockerd.docker("image", "ls", "-a", "-q").orThrow().stdout()).isBlank();
      ItFixtures.await("the refused manifest's access-log line", java.time.Duration.ofSeconds(10),
          () -> ClientRig.accessLog(hub).stream().anyMatch(a -> a.path().endsWith("/manifests/" + child)));
      assertThat(ClientRig.accessLog(hub)).filteredOn(a -> a.path().endsWith("/manifests/" + child))
          .isNotEmpty().allSatisfy(a -> assertThat(a.status()).isEqualTo(502));
      assertNotCached(hub.cacheDir(), child);
      assertNoFileWithContent(hub.cacheDir(), HostileRegistry.substituteManifest());
    }
  }
}
