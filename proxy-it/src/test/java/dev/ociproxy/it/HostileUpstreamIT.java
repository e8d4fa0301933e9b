package dev.ociproxy.it;

import static dev.ociproxy.it.CacheAssertions.assertCached;
import static dev.ociproxy.it.CacheAssertions.assertNoFileWithContent;
import static dev.ociproxy.it.CacheAssertions.assertNoWholeSuccess;
import static dev.ociproxy.it.CacheAssertions.assertNotCached;
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
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The real proxy jar in front of an upstream that lies in every way the verification rules forbid:
 * each lie must reach no client as a whole success and leave nothing in the cache.
 */
@ExtendWith(ProcessGuard.class)
class HostileUpstreamIT {
  private static final String UP = "hostile.test";
  private static final String PRIVATE = "private.test";
  private static final Credentials CREDS = new Credentials("proxyuser", "s3cret-pass");

  static HostileRegistry up;
  static HostileRegistry privateUp;
  static HostileRegistry cdn;
  static ProxyProcess proxy;

  @BeforeAll
  static void start() {
    assumeTrue(ProxyProcess.availability().available(), ProxyProcess.availability().reason());
    up = HostileRegistry.start();
    privateUp = HostileRegistry.start();
    privateUp.requireBasic(CREDS.username(), CREDS.password());
    cdn = HostileRegistry.start();
    proxy =
        ProxyProcess.builder()
            .upstream(UP, up.url())
            .upstream(PRIVATE, privateUp.url(), CREDS)
            .start();
  }

  @AfterAll
  static void stop() {
    if (proxy != null) {
      proxy.close();
    }
    for (HostileRegistry r : new HostileRegistry[] {up, privateUp, cdn}) {
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

  private static Path cache() {
    return proxy.cacheDir();
  }

  /**
   * Puts {@code size} random bytes as a blob of {@code repo} and makes the upstream serve it with
   * {@code lies}.
   */
  private static String lyingBlob(String repo, long seed, int size, Lie... lies) {
    String digest = up.putBlob(repo, random(size, seed));
    up.lie(digest, lies);
    return digest;
  }

  private static RawHttpClient.Response getBlob(String repo, String digest) throws IOException {
    return get("/v2/" + UP + "/" + repo + "/blobs/" + digest);
  }

  @Test
  void blobWithFlippedLastByteIsCutBeforeItsLastByteOrRefused_andNeverCached() throws IOException {
    String digest = lyingBlob("lies/flip-last", 1, 300_000, Lie.FLIP_LAST_BYTE);

    RawHttpClient.Response r = getBlob("lies/flip-last", digest);

    assertCutBeforeTheLastByteOrRefused(r, 300_000);
    assertNotCached(cache(), digest);
  }

  @Test
  void bigBlobFedFromMemoryWithFlippedLastByteIsCutBeforeItsLastByteOrRefused_andNeverCached()
      throws IOException {
    // 3 MB: a blob the store may write past the page cache, served from the received buffers.
    String digest = lyingBlob("lies/flip-last-big", 21, 3_000_000, Lie.FLIP_LAST_BYTE);

    RawHttpClient.Response r = getBlob("lies/flip-last-big", digest);

    assertCutBeforeTheLastByteOrRefused(r, 3_000_000);
    assertNotCached(cache(), digest);
  }

  /**
   * The lie shows only at the last byte: either the proxy had started streaming and breaks off
   * before that byte (a failed transfer), or it refused before the first byte with a registry
   * error.
   */
  private static void assertCutBeforeTheLastByteOrRefused(RawHttpClient.Response r, int size) {
    if (r.status() == 200) {
      assertThat(r.complete()).isFalse();
      assertThat(r.body().length).isLessThan(size);
    } else {
      assertThat(r.status()).isEqualTo(502);
      assertThat(r.bodyText()).contains("DIGEST_INVALID");
    }
  }

  @Test
  void blobWithFlippedFirstByteReachesNoClientWholeAndIsNeverCached() throws IOException {
    String digest = lyingBlob("lies/flip-first", 2, 300_000, Lie.FLIP_FIRST_BYTE);

    RawHttpClient.Response r = getBlob("lies/flip-first", digest);

    assertNoWholeSuccess(r);
    assertNotCached(cache(), digest);
  }

  @Test
  void blobWithWrongBodyReachesNoClientWholeAndIsNeverCached() throws IOException {
    String digest = lyingBlob("lies/wrong-body", 3, 300_000, Lie.WRONG_BODY);

    RawHttpClient.Response r = getBlob("lies/wrong-body", digest);

    assertNoWholeSuccess(r);
    assertNotCached(cache(), digest);
  }

  @Test
  void blobWithExtraBytesReachesNoClientWholeAndIsNeverCached() throws IOException {
    String digest = lyingBlob("lies/extra", 4, 300_000, Lie.EXTRA_BYTES);

    RawHttpClient.Response r = getBlob("lies/extra", digest);

    assertNoWholeSuccess(r);
    assertNotCached(cache(), digest);
  }

  @Test
  void truncatedBlobReachesNoClientWholeAndIsNeverCached() throws IOException {
    String digest = lyingBlob("lies/truncated", 5, 300_000, Lie.TRUNCATE);

    RawHttpClient.Response r = getBlob("lies/truncated", digest);

    assertNoWholeSuccess(r);
    assertNotCached(cache(), digest);
  }

  @Test
  void chunkedBlobWithWrongLastByteReachesNoClientWholeAndIsNeverCached() throws IOException {
    String digest = lyingBlob("lies/chunked-wrong", 6, 300_000, Lie.CHUNKED_WRONG);

    RawHttpClient.Response r = getBlob("lies/chunked-wrong", digest);

    assertNoWholeSuccess(r);
    assertNotCached(cache(), digest);
  }

  @Test
  void blobWithFalseDigestHeaderIsRefusedBeforeAnyByte() throws IOException {
    String digest =
        lyingBlob("lies/false-header", 7, 50_000, Lie.FALSE_DIGEST_HEADER, Lie.WRONG_BODY);

    RawHttpClient.Response r = getBlob("lies/false-header", digest);

    assertThat(r.status()).isEqualTo(502);
    assertThat(r.bodyText()).contains("DIGEST_INVALID");
    assertNotCached(cache(), digest);
  }

  @Test
  void honestChunkedBlobIsServedWholeAndCached() throws IOException {
    byte[] honest = random(200_000, 8);
    String digest = up.putBlob("honest/chunked", honest);
    up.lie(digest, Lie.CHUNKED);

    RawHttpClient.Response r = getBlob("honest/chunked", digest);

    assertThat(r.status()).isEqualTo(200);
    assertThat(r.complete()).isTrue();
    assertThat(r.body()).isEqualTo(honest);
    assertCached(cache(), "blobs", digest);
  }

  @Test
  void honestBlobIsServedWithDigestHeaderAndThenFromCache() throws IOException {
    byte[] honest = random(120_000, 9);
    String digest = up.putBlob("honest/plain", honest);

    RawHttpClient.Response first = getBlob("honest/plain", digest);

    assertThat(first.status()).isEqualTo(200);
    assertThat(first.body()).isEqualTo(honest);
    assertThat(first.header("Docker-Content-Digest")).contains(digest);
    assertCached(cache(), "blobs", digest);

    int before = up.count("GET", "/v2/honest/plain/blobs/");
    RawHttpClient.Response second = getBlob("honest/plain", digest);

    assertThat(second.body()).isEqualTo(honest);
    assertThat(up.count("GET", "/v2/honest/plain/blobs/"))
        .as("upstream GETs after a cached read")
        .isEqualTo(before);

    RawHttpClient.Response range =
        get("/v2/" + UP + "/honest/plain/blobs/" + digest, "Range: bytes=100-199");

    assertThat(range.status()).isEqualTo(206);
    assertThat(range.body()).isEqualTo(java.util.Arrays.copyOfRange(honest, 100, 200));
    assertThat(get("/v2/" + UP + "/honest/plain/blobs/" + digest, "Range: bytes=999999-").status())
        .isEqualTo(416);
  }

  @Test
  void redirectToLyingHostReachesNoClientWholeAndIsNeverCached() throws IOException {
    byte[] honest = random(100_000, 10);
    String digest = up.putBlob("lies/redirect", honest);
    cdn.putBlob("lies/redirect", honest);
    cdn.lie(digest, Lie.FLIP_LAST_BYTE);
    up.lie(digest, Lie.redirectTo(cdn));

    RawHttpClient.Response r = getBlob("lies/redirect", digest);

    assertNoWholeSuccess(r);
    assertNotCached(cache(), digest);
  }

  @Test
  void redirectToBlobStorageIsFollowedWithoutTheUpstreamsCredentials() throws IOException {
    byte[] honest = random(100_000, 11);
    String digest = privateUp.putBlob("private/redirect", honest);
    cdn.putBlob("private/redirect", honest);
    privateUp.lie(digest, Lie.redirectTo(cdn));

    RawHttpClient.Response r = get("/v2/" + PRIVATE + "/private/redirect/blobs/" + digest);

    assertThat(r.status()).isEqualTo(200);
    assertThat(r.body()).isEqualTo(honest);
    assertThat(privateUp.requests("GET", "/v2/private/redirect/blobs/"))
        .anySatisfy(req -> assertThat(req.header("Authorization")).isPresent());
    assertThat(cdn.requests(null, "/v2/private/redirect/"))
        .isNotEmpty()
        .allSatisfy(req -> assertThat(req.header("Authorization")).isEmpty());
  }

  // ---- manifests ----

  @Test
  void manifestByDigestWithSubstitutedBodyIsRefused() throws IOException {
    HostileRegistry.Image img = up.putImage("lies/substituted", "v1", random(1000, 12));
    up.lie(img.manifestDigest(), Lie.MANIFEST_BY_DIGEST_SUBSTITUTED);

    RawHttpClient.Response r =
        get(
            "/v2/" + UP + "/lies/substituted/manifests/" + img.manifestDigest(),
            "Accept: " + OciJson.IMAGE_MANIFEST);

    assertThat(r.status()).isEqualTo(502);
    assertThat(r.bodyText()).contains("\"code\":\"DIGEST_INVALID\"");
    assertNotCached(cache(), img.manifestDigest());
    assertNoFileWithContent(cache(), HostileRegistry.substituteManifest());
  }

  @Test
  void manifestByDigestWithFlippedByteIsRefused() throws IOException {
    HostileRegistry.Image img = up.putImage("lies/manifest-flip", "v1", random(1000, 13));
    up.lie(img.manifestDigest(), Lie.FLIP_LAST_BYTE);

    RawHttpClient.Response r =
        get("/v2/" + UP + "/lies/manifest-flip/manifests/" + img.manifestDigest());

    assertThat(r.status()).isEqualTo(502);
    assertNotCached(cache(), img.manifestDigest());
  }

  @Test
  void manifestByTagWithFalseDigestHeaderIsRefused() throws IOException {
    HostileRegistry.Image img = up.putImage("lies/tag-false-header", "v1", random(1000, 14));
    up.lie("lies/tag-false-header/manifests/v1", Lie.FALSE_DIGEST_HEADER);

    RawHttpClient.Response r = get("/v2/" + UP + "/lies/tag-false-header/manifests/v1");

    assertThat(r.status()).isEqualTo(502);
    assertThat(r.bodyText()).contains("DIGEST_INVALID");
    assertNotCached(cache(), img.manifestDigest());
  }

  @Test
  void manifestByTagWithHeaderInAnotherAlgorithmForOtherBytesIsNeverCachedUnderTheTagsDigest()
      throws IOException {
    HostileRegistry.Image img = up.putImage("lies/tag-sha512", "v1", random(1000, 15));
    up.lie("lies/tag-sha512/manifests/v1", Lie.OTHER_ALGORITHM_HEADER);

    RawHttpClient.Response r = get("/v2/" + UP + "/lies/tag-sha512/manifests/v1");

    // Whatever body arrived, it is not what the tag named upstream; nothing of it may be cached
    // under the requested tag's digest.
    if (r.status() == 200) {
      assertThat(r.header("Docker-Content-Digest").orElseThrow())
          .isEqualTo(CacheAssertions.sha256(r.body()));
    }
    assertNotCached(cache(), img.manifestDigest());
  }

  @Test
  void manifestByTagWithoutDigestHeaderIsServedWithTheComputedDigest() throws IOException {
    HostileRegistry.Image img = up.putImage("honest/no-header", "v1", random(1000, 16));
    up.lie("honest/no-header/manifests/v1", Lie.NO_DIGEST_HEADER);

    RawHttpClient.Response r = get("/v2/" + UP + "/honest/no-header/manifests/v1");

    assertThat(r.status()).isEqualTo(200);
    assertThat(r.body()).isEqualTo(img.manifest());
    assertThat(r.header("Docker-Content-Digest")).contains(img.manifestDigest());
    assertCached(cache(), "manifests", img.manifestDigest());
  }

  @Test
  void manifestWhoseMediaTypeDisagreesWithContentTypeIsRefused() throws IOException {
    HostileRegistry.Image img = up.putImage("lies/media-type", "v1", random(1000, 17));
    up.lie("lies/media-type/manifests/v1", Lie.MEDIA_TYPE_MISMATCH);

    RawHttpClient.Response r = get("/v2/" + UP + "/lies/media-type/manifests/v1");

    assertThat(r.status()).isEqualTo(502);
    assertThat(r.bodyText()).contains("MANIFEST_INVALID");
    assertNotCached(cache(), img.manifestDigest());
  }

  @Test
  void manifestThatIsNotJsonIsRefused() throws IOException {
    up.putImage("lies/not-json", "v1", random(1000, 18));
    up.lie("lies/not-json/manifests/v1", Lie.INVALID_JSON);

    RawHttpClient.Response r = get("/v2/" + UP + "/lies/not-json/manifests/v1");

    assertThat(r.status()).isEqualTo(502);
    assertThat(r.bodyText()).contains("MANIFEST_INVALID");
    assertThat(CacheAssertions.files(cache().resolve("tags").resolve(UP).resolve("lies/not-json")))
        .isEmpty();
  }

  @Test
  void oversizedManifestIsRefusedWithoutReadingItToTheEnd() throws IOException {
    up.putImage("lies/oversized", "v1", random(1000, 19));
    up.lie("lies/oversized/manifests/v1", Lie.oversizedManifest(64L * 1024 * 1024));

    RawHttpClient.Response r = get("/v2/" + UP + "/lies/oversized/manifests/v1");

    assertThat(r.status()).isEqualTo(502);
    assertThat(r.bodyText()).contains("MANIFEST_INVALID");
    var served = up.requests("GET", "/v2/lies/oversized/manifests/v1");
    assertThat(served).isNotEmpty();
    served.get(0).awaitDone(Duration.ofSeconds(10));
    assertThat(served.get(0).bodyBytesWritten()).isLessThan(32L * 1024 * 1024);
  }

  // ---- framing: one response read as another's answer ----

  @Test
  void aForgedResponseTrailingAnAnswerIsNeverServedOrCachedAsAnotherRepositorysTag()
      throws Exception {
    HostileRegistry.Image first = up.putImage("smuggle/first", "v1", random(1000, 22));
    HostileRegistry.Image victim = up.putImage("smuggle/victim", "v1", random(1000, 23));
    up.lie("smuggle/first/manifests/v1", Lie.TRAILING_RESPONSE);
    assertThat(get("/v2/" + UP + "/smuggle/first/manifests/v1").body()).isEqualTo(first.manifest());
    Thread.sleep(400); // the forged answer reaches the proxy's idle connection
    RawHttpClient.Response r = get("/v2/" + UP + "/smuggle/victim/manifests/v1");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.body()).isEqualTo(victim.manifest());
    assertThat(get("/v2/" + UP + "/smuggle/victim/manifests/v1").body())
        .isEqualTo(victim.manifest());
    assertNoFileWithContent(cache(), HostileRegistry.substituteManifest());
    assertThat(proxy.log()).contains("refused upstream connection reuse: upstream=" + UP);
  }

  @Test
  void aManifestFramedWithBothLengthsIsReadByItsChunksAndItsConnectionIsNotReused()
      throws Exception {
    HostileRegistry.Image img = up.putImage("smuggle/both-lengths", "v1", random(1000, 24));
    up.lie("smuggle/both-lengths/manifests/v1", Lie.BOTH_LENGTHS, Lie.TRAILING_RESPONSE);
    RawHttpClient.Response r = get("/v2/" + UP + "/smuggle/both-lengths/manifests/v1");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.body()).isEqualTo(img.manifest());
    assertThat(proxy.log()).contains("reason=ambiguous_framing");
    up.unlie("smuggle/both-lengths/manifests/v1");
    Thread.sleep(400);
    HostileRegistry.Image next = up.putImage("smuggle/after-both", "v1", random(1000, 25));
    assertThat(get("/v2/" + UP + "/smuggle/after-both/manifests/v1").body())
        .isEqualTo(next.manifest());
    assertNoFileWithContent(cache(), HostileRegistry.substituteManifest());
  }

  @Test
  void tagListLinkCarriesOnlyTheValidatedLastAndNNeverTheUpstreamsOtherParameters()
      throws IOException {
    for (String tag : new String[] {"a", "b", "c"}) {
      up.putImage("paged/app", tag, random(100, 26));
    }
    up.lie("paged/app/tags/list", Lie.linkQuery("ns=" + PRIVATE));
    RawHttpClient.Response r = get("/v2/" + UP + "/paged/app/tags/list?n=1");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.header("Link"))
        .contains("</v2/" + UP + "/paged/app/tags/list?n=1&last=a>; rel=\"next\"");
  }

  @Test
  void privateUpstreamGetsBasicCredentials() throws IOException {
    HostileRegistry.Image img = privateUp.putImage("private/app", "v1", random(1000, 20));

    RawHttpClient.Response r = get("/v2/" + PRIVATE + "/private/app/manifests/v1");

    assertThat(r.status()).isEqualTo(200);
    assertThat(r.body()).isEqualTo(img.manifest());
    assertThat(proxy.log()).doesNotContain(CREDS.password());
  }

  @Test
  void badInputGetsSpecErrorsAndNeverAFetch() throws IOException {
    int before = up.requests().size();
    assertThat(get("/v2/" + UP + "/Upper/blobs/sha256:" + "a".repeat(64)).status()).isEqualTo(400);
    assertThat(get("/v2/" + UP + "/x/blobs/sha256:abc").bodyText()).contains("DIGEST_INVALID");
    assertThat(get("/v2/" + UP + "/x/blobs/md5:" + "a".repeat(32)).status()).isEqualTo(400);
    assertThat(get("/v2/" + UP + "/a/../b/manifests/v1").status()).isBetween(400, 499);
    assertThat(get("/v2/" + UP + "/a%2fb/manifests/v1").status()).isEqualTo(400);
    assertThat(get("/v2/unknown.example/a/manifests/v1").bodyText()).contains("NAME_UNKNOWN");
    assertThat(get("/v2/x/manifests/v1?ns=nope.example").status()).isEqualTo(404);
    assertThat(
            new String(
                get("/v2/" + "a/".repeat(200) + "b/manifests/v1").body(), StandardCharsets.UTF_8))
        .contains("NAME_INVALID");
    try (RawHttpClient c = new RawHttpClient("127.0.0.1", proxy.port(), Duration.ofSeconds(10))) {
      assertThat(c.exchange("PUT", "/v2/" + UP + "/x/manifests/v1").status()).isEqualTo(405);
    }
    assertThat(up.requests().size()).isEqualTo(before);
  }
}
