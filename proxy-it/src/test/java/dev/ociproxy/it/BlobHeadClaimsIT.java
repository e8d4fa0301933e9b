package dev.ociproxy.it;

import static dev.ociproxy.it.ItFixtures.random;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.it.support.ProxyProcess;
import dev.ociproxy.testing.Lie;
import dev.ociproxy.testing.RawHttpClient;
import java.io.IOException;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code HEAD /v2/<repo>/blobs/<digest>} never says more than the proxy verified: the upstream's
 * claims give way to a verified size, to a refusal of that digest moments ago, and to a digest
 * header that names another digest.
 */
class BlobHeadClaimsIT extends PerTestHostileUpstream {
  private static final String UP = "hostile.test";

  @BeforeEach
  void startProxy() {
    proxy = ProxyProcess.builder().upstream(UP, up.url()).start();
  }

  private RawHttpClient.Response head(String path) throws IOException {
    try (RawHttpClient c = new RawHttpClient("127.0.0.1", proxy.port(), Duration.ofSeconds(30))) {
      return c.head(path);
    }
  }

  private RawHttpClient.Response get(String path) throws IOException {
    try (RawHttpClient c = new RawHttpClient("127.0.0.1", proxy.port(), Duration.ofSeconds(30))) {
      return c.get(path);
    }
  }

  @Test
  void aHeadRightAfterTheGetOfThatDigestWasRefusedIsAnErrorWithoutAskingTheUpstream()
      throws IOException {
    String digest = up.putBlob("lies/refused", random(50_000, 1));
    up.lie(digest, Lie.WRONG_BODY);
    CacheAssertions.assertNoWholeSuccess(get("/v2/" + UP + "/lies/refused/blobs/" + digest));
    int headsBefore = up.count("HEAD", "/v2/lies/refused/blobs/");

    RawHttpClient.Response r = head("/v2/" + UP + "/lies/refused/blobs/" + digest);
    assertThat(r.status()).isEqualTo(502);
    assertThat(up.count("HEAD", "/v2/lies/refused/blobs/")).isEqualTo(headsBefore);
  }

  @Test
  void aHeadWhoseDigestHeaderNamesAnotherDigestIsRefused() throws IOException {
    String digest = up.putBlob("lies/head-header", random(50_000, 2));
    up.lie(digest, Lie.FALSE_DIGEST_HEADER);

    RawHttpClient.Response r = head("/v2/" + UP + "/lies/head-header/blobs/" + digest);
    assertThat(r.status()).isEqualTo(502);
    assertThat(proxy.log()).contains("reason=digest_header_mismatch");
  }

  @Test
  void aVerifiedSizeWinsOverTheUpstreamsClaimInARepositoryNotLinkedYet() throws IOException {
    byte[] bytes = random(50_000, 3);
    String digest = up.putBlob("honest/first", bytes);
    up.putBlob("honest/second", bytes);
    assertThat(get("/v2/" + UP + "/honest/first/blobs/" + digest).status()).isEqualTo(200);
    up.lie(digest, Lie.EXTRA_BYTES); // the HEAD claims 16 bytes more

    RawHttpClient.Response r = head("/v2/" + UP + "/honest/second/blobs/" + digest);
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.header("Content-Length")).contains(Integer.toString(bytes.length));
  }

  @Test
  void aHeadForABlobNotHeldAnswersTheUpstreamsClaimWithoutFetchingIt() throws IOException {
    byte[] bytes = random(50_000, 4);
    String digest = up.putBlob("honest/uncached", bytes);

    RawHttpClient.Response r = head("/v2/" + UP + "/honest/uncached/blobs/" + digest);
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.header("Content-Length")).contains(Integer.toString(bytes.length));
    assertThat(up.count("GET", "/v2/honest/uncached/blobs/")).isZero();
  }
}
