package dev.ociproxy.it;

import static dev.ociproxy.it.ItFixtures.random;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ociproxy.it.support.Credentials;
import dev.ociproxy.it.support.ProcessGuard;
import dev.ociproxy.it.support.ProxyProcess;
import dev.ociproxy.testing.HostileRegistry;
import dev.ociproxy.testing.Lie;
import dev.ociproxy.testing.OciJson;
import dev.ociproxy.testing.RawHttpClient;
import java.io.IOException;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A public upstream that knows the digests of a private upstream's content (as anyone who saw a
 * manifest does) tries to have the proxy hand the private bytes, already in its cache, to an
 * anonymous client: by listing them in its own verified manifests and indexes, or by answering a
 * {@code HEAD} 200 it cannot back with the bytes. It gets them only by serving the same bytes.
 */
@ExtendWith(ProcessGuard.class)
class CrossUpstreamBorrowingIT {
  private static final String PUBLIC = "public.test";
  private static final String PRIVATE = "private.test";
  private static final Credentials CREDS = new Credentials("proxyuser", "s3cret-pass");

  static HostileRegistry publicUp;
  static HostileRegistry privateUp;
  static ProxyProcess proxy;

  @BeforeAll
  static void start() {
    assumeTrue(ProxyProcess.availability().available(), ProxyProcess.availability().reason());
    publicUp = HostileRegistry.start();
    privateUp = HostileRegistry.start();
    privateUp.requireBasic(CREDS.username(), CREDS.password());
    proxy =
        ProxyProcess.builder()
            .upstream(PUBLIC, publicUp.url())
            .upstream(PRIVATE, privateUp.url(), CREDS)
            .start();
  }

  @AfterAll
  static void stop() {
    if (proxy != null) {
      proxy.close();
    }
    for (HostileRegistry r : new HostileRegistry[] {publicUp, privateUp}) {
      if (r != null) {
        r.close();
      }
    }
  }

  private static RawHttpClient.Response get(String path, String... headers) throws IOException {
    try (RawHttpClient c = new RawHttpClient("127.0.0.1", proxy.port(), Duration.ofSeconds(30))) {
      return c.get(path, headers);
    }
  }

  /** A private image pulled whole through the proxy, so that all of it is in the cache. */
  private static HostileRegistry.Image cachedPrivateImage(String repo, long seed)
      throws IOException {
    HostileRegistry.Image img = privateUp.putImage(repo, "v1", random(40_000, seed));
    assertThat(get("/v2/" + PRIVATE + "/" + repo + "/manifests/" + img.manifestDigest()).status())
        .isEqualTo(200);
    assertThat(get("/v2/" + PRIVATE + "/" + repo + "/blobs/" + img.layerDigests().get(0)).status())
        .isEqualTo(200);
    return img;
  }

  /** A manifest in the public upstream listing {@code layer} (a digest it does not hold). */
  private static void publicManifestListing(String repo, String layerDigest, long layerSize) {
    String config = publicUp.putBlob(repo, OciJson.config(repo));
    byte[] manifest =
        OciJson.manifest(
            config,
            OciJson.config(repo).length,
            new OciJson.Descriptor(OciJson.LAYER_TAR_GZIP, layerDigest, layerSize));
    publicUp.putManifest(repo, "v1", OciJson.IMAGE_MANIFEST, manifest);
  }

  @Test
  void aPrivateLayerListedInAPublicManifestIsNotServedUnderThePublicUpstream() throws IOException {
    HostileRegistry.Image secret = cachedPrivateImage("secret/listed", 1);
    String layer = secret.layerDigests().get(0);
    publicManifestListing("bait/listed", layer, 40_000);
    assertThat(get("/v2/" + PUBLIC + "/bait/listed/manifests/v1").status()).isEqualTo(200);

    RawHttpClient.Response r = get("/v2/" + PUBLIC + "/bait/listed/blobs/" + layer);
    assertThat(r.status()).isEqualTo(404);
    assertThat(r.bodyText()).contains("BLOB_UNKNOWN");
    assertThat(publicUp.count("GET", "/v2/bait/listed/blobs/" + layer)).isEqualTo(1);
  }

  @Test
  void aPrivateLayerThePublicUpstreamClaimsByHeadAloneIsNotServedUnderIt() throws IOException {
    HostileRegistry.Image secret = cachedPrivateImage("secret/claimed", 2);
    String layer = secret.layerDigests().get(0);
    publicUp.lie(layer, Lie.status(200)); // HEAD 200; the GET's body is an error document

    RawHttpClient.Response r = get("/v2/" + PUBLIC + "/bait/claimed/blobs/" + layer);
    assertThat(r.status() == 200 && r.complete()).as("a whole success").isFalse();
    assertThat(CacheAssertions.sha256(r.body())).isNotEqualTo(layer);
  }

  @Test
  void aPrivateManifestListedInAPublicIndexIsNotServedUnderThePublicUpstream() throws IOException {
    HostileRegistry.Image secret = cachedPrivateImage("secret/indexed", 3);
    byte[] index =
        OciJson.index(
            new OciJson.Descriptor(
                    OciJson.IMAGE_MANIFEST, secret.manifestDigest(), secret.manifest().length)
                .withPlatform("linux", "amd64"));
    publicUp.putManifest("bait/indexed", "v1", OciJson.IMAGE_INDEX, index);
    assertThat(
            get("/v2/" + PUBLIC + "/bait/indexed/manifests/v1", "Accept: " + OciJson.IMAGE_INDEX)
                .status())
        .isEqualTo(200);

    RawHttpClient.Response r =
        get(
            "/v2/" + PUBLIC + "/bait/indexed/manifests/" + secret.manifestDigest(),
            "Accept: " + OciJson.IMAGE_MANIFEST);
    assertThat(r.status()).isEqualTo(404);
    assertThat(r.body()).isNotEqualTo(secret.manifest());
  }

  @Test
  void aLayerBothUpstreamsServeIsServedUnderEachOnceEachServedItsBytes() throws IOException {
    HostileRegistry.Image secret = cachedPrivateImage("secret/shared", 4);
    String layer = secret.layerDigests().get(0);
    byte[] bytes = random(40_000, 4);
    publicUp.putBlob("public/shared", bytes);

    RawHttpClient.Response first = get("/v2/" + PUBLIC + "/public/shared/blobs/" + layer);
    assertThat(first.status()).isEqualTo(200);
    assertThat(first.body()).isEqualTo(bytes);
    assertThat(publicUp.count("GET", "/v2/public/shared/blobs/" + layer)).isEqualTo(1);
    // Now the public upstream has served these bytes itself: the cached copy is its too.
    assertThat(get("/v2/" + PUBLIC + "/public/shared/blobs/" + layer).body()).isEqualTo(bytes);
    assertThat(publicUp.count("GET", "/v2/public/shared/blobs/" + layer)).isEqualTo(1);
  }

  @Test
  void withinOneUpstreamALayerItServedIsLinkedToAnotherRepositoryByItsHead() throws IOException {
    HostileRegistry.Image first = cachedPrivateImage("team/one", 5);
    String layer = first.layerDigests().get(0);
    privateUp.putBlob("team/two", random(40_000, 5));

    RawHttpClient.Response r = get("/v2/" + PRIVATE + "/team/two/blobs/" + layer);
    assertThat(r.status()).isEqualTo(200);
    assertThat(CacheAssertions.sha256(r.body())).isEqualTo(layer);
    assertThat(privateUp.count("HEAD", "/v2/team/two/blobs/" + layer)).isEqualTo(1);
    assertThat(privateUp.count("GET", "/v2/team/two/blobs/" + layer)).isZero();
  }
}
