package dev.ociproxy.it;

import static dev.ociproxy.it.CacheAssertions.assertCached;
import static dev.ociproxy.it.CacheAssertions.assertNoFileWithContent;
import static dev.ociproxy.it.CacheAssertions.assertNotCached;
import static dev.ociproxy.it.ClientRig.HOSTILE;
import static dev.ociproxy.it.ClientRig.PRIVATE;
import static dev.ociproxy.it.ClientRig.READER;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.it.PullingClient.Platforms;
import dev.ociproxy.it.support.Availability;
import dev.ociproxy.it.support.CommandResult;
import dev.ociproxy.it.support.HostileImages;
import dev.ociproxy.it.support.OciImage;
import dev.ociproxy.it.support.OciImages;
import dev.ociproxy.it.support.ProcessGuard;
import dev.ociproxy.it.support.ProxyProcess;
import dev.ociproxy.it.support.UpstreamRegistry;
import dev.ociproxy.testing.HostileRegistry;
import dev.ociproxy.testing.Lie;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What every real client must get through the proxy, written once over {@link PullingClient}; each
 * client IT extends this with its client. A pull stores exactly the upstream's digests (single-arch
 * by tag and by digest, a multi-arch index, forty small layers, a token-auth upstream whose
 * credentials only the proxy holds), the proxy serves the same pull into an empty store with the
 * upstream switched off, and a lying upstream fails the pull and leaves the lie neither in the
 * client nor in the proxy's cache.
 */
@ExtendWith(ProcessGuard.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class ClientScenarios {
  ClientRig rig;
  PullingClient client;
  private final List<ProxyProcess> clientProxies = new ArrayList<>();

  /** What the client needs besides the rig. */
  abstract Availability clientAvailability();

  /** Starts the client against the rig's proxy; closed after the class. */
  abstract PullingClient startClient(ClientRig rig);

  /** The name the rig's proxy gives its open (default) upstream. */
  String openUpstream() {
    return ClientRig.OPEN;
  }

  @BeforeAll
  void start() {
    ClientRig.availability().and(clientAvailability()).assumeAvailable();
    rig = ClientRig.start(openUpstream());
    client = startClient(rig);
  }

  @AfterAll
  void stop() {
    try {
      if (client != null) {
        client.close();
      }
    } finally {
      if (rig != null) {
        rig.close();
      }
    }
  }

  @BeforeEach
  void emptyStore() {
    client.emptyStore();
  }

  @AfterEach
  void closeClientProxies() {
    clientProxies.forEach(ProxyProcess::close);
    clientProxies.clear();
  }

  /**
   * The proxy the client reaches {@code upstream} through: the rig's, or its own (closed after the
   * test).
   */
  ProxyProcess proxyFor(String upstream) {
    Optional<ProxyProcess> own = client.ownProxyFor(upstream);
    own.ifPresent(clientProxies::add);
    return own.orElse(rig.proxy);
  }

  /**
   * Pulls {@code ref} into the empty store and checks what the client stored, then switches the
   * upstream off and does the same into a newly emptied store: the proxy serves it from its cache.
   */
  private void assertStoredOnlineAndWithUpstreamDown(
      UpstreamRegistry up, String ref, OciImage image, Platforms which) throws Exception {
    client.pull(ref, which);

    client.assertStored(ref, image, which);

    client.emptyStore();
    ClientRig.withUpstreamDown(up, () -> client.pull(ref, which));

    client.assertStored(ref, image, which);
  }

  @Test
  void
      singleArchByTag_isStoredWithTheUpstreamDigests_cachedByTheProxy_andPulledAgainWithUpstreamDown()
          throws Exception {
    OciImage image = OciImages.singleArch(rig.layout("tag"), "v1", 300_000, 20_000);
    String ref = client.ref(openUpstream(), "it/tag:v1");
    try (UpstreamRegistry up = rig.startOpen()) {
      rig.push(image, up, "it/tag");
      ProxyProcess proxy = proxyFor(openUpstream());

      assertStoredOnlineAndWithUpstreamDown(up, ref, image, Platforms.DEFAULT);

      assertThat(ClientRig.accessLog(proxy))
          .filteredOn(a -> a.path().contains("/it/tag/manifests/"))
          .extracting(ClientRig.Access::line)
          .containsAll(
              client.tagPullRequests(openUpstream(), "it/tag", "v1", image.manifestDigest()));
      assertCached(proxy.cacheDir(), "manifests", image.manifestDigest());
      image.image().blobDigests().forEach(d -> assertCached(proxy.cacheDir(), "blobs", d));
    }
  }

  @Test
  void singleArchByDigest_isStoredWithTheUpstreamDigests_andPulledAgainWithUpstreamDown()
      throws Exception {
    OciImage image = OciImages.singleArch(rig.layout("digest"), "v1", 200_000);
    String ref = client.ref(openUpstream(), "it/digest@" + image.manifestDigest());
    try (UpstreamRegistry up = rig.startOpen()) {
      rig.push(image, up, "it/digest");
      proxyFor(openUpstream());

      assertStoredOnlineAndWithUpstreamDown(up, ref, image, Platforms.DEFAULT);
    }
  }

  @Test
  void multiArchIndex_eachPullStoresItsPlatformsWithTheirDigests_andPullsAgainWithUpstreamDown()
      throws Exception {
    OciImage image = OciImages.multiArch(rig.layout("multi"), "multi", 150_000, 10_000);
    String ref = client.ref(openUpstream(), "it/multi:multi");
    List<Platforms> pulls = client.multiArchPulls();
    try (UpstreamRegistry up = rig.startOpen()) {
      rig.push(image, up, "it/multi");
      proxyFor(openUpstream());

      for (Platforms which : pulls.subList(1, pulls.size())) {
        client.pull(ref, which);

        client.assertStored(ref, image, which);
        client.emptyStore();
      }
      assertStoredOnlineAndWithUpstreamDown(up, ref, image, pulls.get(0));
    }
  }

  @Test
  void manySmallLayers_areAllStored_andPulledAgainWithUpstreamDown() throws Exception {
    OciImage image = OciImages.manySmallLayers(rig.layout("many"), "v1", 40, 2_000);
    String ref = client.ref(openUpstream(), "it/many:v1");
    try (UpstreamRegistry up = rig.startOpen()) {
      rig.push(image, up, "it/many");
      proxyFor(openUpstream());

      assertStoredOnlineAndWithUpstreamDown(up, ref, image, Platforms.DEFAULT);
    }
  }

  @Test
  void privateTokenUpstream_isPulledWithoutClientCredentials_becauseTheProxyDoesTheBearerFlow()
      throws Exception {
    OciImage image = OciImages.singleArch(rig.layout("private"), "v1", 250_000);
    String ref = client.ref(PRIVATE, "it/private:v1");
    try (UpstreamRegistry up = rig.startPrivate()) {
      rig.push(image, up, "it/private");
      proxyFor(PRIVATE);

      assertStoredOnlineAndWithUpstreamDown(up, ref, image, Platforms.DEFAULT);

      // Only the proxy knows the reader's password.
      assertThat(rig.tokens.requests())
          .anySatisfy(
              r -> {
                assertThat(r.user()).isEqualTo(READER.username());
                assertThat(r.scopes()).contains("repository:it/private:pull");
                assertThat(r.status()).isEqualTo(200);
              });
    }
  }

  @Test
  void layerWithFlippedLastByte_failsThePull_andNeitherTheClientNorTheCacheKeepsIt() {
    OciImage image = OciImages.singleArch(rig.layout("flip"), "v1", 200_000, 30_000);
    HostileImages.put(rig.hostile, image, "it/flip");
    String liar = image.image().layers().get(0).digest();
    rig.hostile.lie(liar, Lie.FLIP_LAST_BYTE);
    String ref = client.ref(HOSTILE, "it/flip:v1");
    ProxyProcess proxy = proxyFor(HOSTILE);

    CommandResult pull = client.tryPull(ref, Platforms.DEFAULT);

    assertThat(pull.succeeded()).as(pull.describe()).isFalse();
    client.assertKeptNothing(ref, Set.of(liar));
    assertThat(rig.hostile.count("GET", "/v2/it/flip/blobs/" + liar)).isGreaterThanOrEqualTo(1);
    assertNotCached(proxy.cacheDir(), liar);
  }

  @Test
  void
      platformManifestSubstitutedByTheUpstream_failsThePull_andNeitherTheClientNorTheCacheKeepsIt() {
    OciImage image = OciImages.multiArch(rig.layout("subst"), "multi", 20_000);
    HostileImages.put(rig.hostile, image, "it/subst");
    Platforms which = client.multiArchPulls().get(0);
    List<OciImage.PlatformImage> pulled = which.of(image);
    String child = pulled.get(pulled.size() - 1).manifest().digest();
    rig.hostile.lie(child, Lie.MANIFEST_BY_DIGEST_SUBSTITUTED);
    String ref = client.ref(HOSTILE, "it/subst:multi");
    ProxyProcess proxy = proxyFor(HOSTILE);

    CommandResult pull = client.tryPull(ref, which);

    assertThat(pull.succeeded()).as(pull.describe()).isFalse();
    client.assertKeptNothing(
        ref, Set.of(child, CacheAssertions.sha256(HostileRegistry.substituteManifest())));
    assertThat(ClientRig.awaitAccessLog(proxy, "/it/subst/manifests/" + child))
        .isNotEmpty()
        .allSatisfy(a -> assertThat(a.status()).isEqualTo(502));
    assertNotCached(proxy.cacheDir(), child);
    assertNoFileWithContent(proxy.cacheDir(), HostileRegistry.substituteManifest());
  }
}
