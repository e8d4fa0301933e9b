package dev.ociproxy.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ociproxy.testing.RawHttpClient.Response;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Pins the wire behaviour of every {@link Lie} and of the honest registry underneath. */
class HostileRegistryTest {
  private static final String REPO = "test/repo";
  private static final ObjectMapper JSON = new ObjectMapper();

  private HostileRegistry reg;
  private byte[] blob;
  private String digest;
  private String blobPath;

  @BeforeEach
  void start() {
    reg = HostileRegistry.start();
    blob = new byte[10_000];
    new Random(42).nextBytes(blob);
    digest = reg.putBlob(REPO, blob);
    blobPath = "/v2/" + REPO + "/blobs/" + digest;
  }

  @AfterEach
  void stop() {
    reg.close();
  }

  private RawHttpClient client() {
    return RawHttpClient.connect(reg.url());
  }

  private Response get(String target, String... headers) throws IOException {
    try (RawHttpClient c = client()) {
      return c.get(target, headers);
    }
  }

  // ------------------------------------------------------------------ honest behaviour

  @Test
  void base_answers200WithApiVersionHeader() throws IOException {
    Response r = get("/v2/");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.header("Docker-Distribution-API-Version")).hasValue("registry/2.0");
  }

  @Test
  void blob_isServedHonestlyWithDigestHeader_toJdkHttpClient() throws Exception {
    HttpResponse<byte[]> r =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create(reg.url() + blobPath)).build(),
                HttpResponse.BodyHandlers.ofByteArray());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo(blob);
    assertThat(OciJson.sha256(r.body())).isEqualTo(digest);
    assertThat(r.headers().firstValue("Docker-Content-Digest")).hasValue(digest);
    assertThat(r.headers().firstValue("Content-Length")).hasValue("10000");
  }

  @Test
  void head_sendsLengthAndDigestButNoBody_andKeepsConnection() throws IOException {
    try (RawHttpClient c = client()) {
      Response head = c.head(blobPath);
      assertThat(head.status()).isEqualTo(200);
      assertThat(head.header("Content-Length")).hasValue("10000");
      assertThat(head.header("Docker-Content-Digest")).hasValue(digest);
      assertThat(c.get(blobPath).body()).isEqualTo(blob); // no stray body bytes in between
    }
  }

  @Test
  void keepAlive_servesSeveralRequestsOnOneConnection_evenPipelined() throws IOException {
    try (RawHttpClient c = client()) {
      c.send("GET", blobPath);
      c.send("GET", "/v2/");
      c.send("HEAD", blobPath);
      assertThat(c.read("GET").body()).isEqualTo(blob);
      assertThat(c.read("GET").status()).isEqualTo(200);
      assertThat(c.read("HEAD").status()).isEqualTo(200);
      assertThat(c.serverClosed(Duration.ofMillis(50))).isFalse();
    }
    assertThat(reg.requests()).extracting(RecordedRequest::connectionId).containsOnly(1);
    assertThat(reg.connectionCount()).isEqualTo(1);
  }

  @Test
  void connectionClose_isHonoured() throws IOException {
    try (RawHttpClient c = client()) {
      Response r = c.get("/v2/", "Connection: close");
      assertThat(r.header("Connection")).hasValue("close");
      assertThat(c.serverClosed(Duration.ofSeconds(2))).isTrue();
    }
  }

  @Test
  void range_servesSingleRangesWith206_andUnsatisfiableWith416() throws IOException {
    try (RawHttpClient c = client()) {
      Response mid = c.get(blobPath, "Range: bytes=100-199");
      assertThat(mid.status()).isEqualTo(206);
      assertThat(mid.header("Content-Range")).hasValue("bytes 100-199/10000");
      assertThat(mid.body()).isEqualTo(Arrays.copyOfRange(blob, 100, 200));

      Response open = c.get(blobPath, "Range: bytes=9990-");
      assertThat(open.body()).isEqualTo(Arrays.copyOfRange(blob, 9990, 10000));

      Response suffix = c.get(blobPath, "Range: bytes=-5");
      assertThat(suffix.header("Content-Range")).hasValue("bytes 9995-9999/10000");
      assertThat(suffix.body()).isEqualTo(Arrays.copyOfRange(blob, 9995, 10000));

      Response beyond = c.get(blobPath, "Range: bytes=10000-");
      assertThat(beyond.status()).isEqualTo(416);
      assertThat(beyond.header("Content-Range")).hasValue("bytes */10000");

      Response multi = c.get(blobPath, "Range: bytes=0-1,5-6");
      assertThat(multi.status()).isEqualTo(200);
      assertThat(multi.body()).isEqualTo(blob);
    }
  }

  @Test
  void rangeStartShifted_answersFromOneByteLaterAndSaysSo() throws IOException {
    reg.lie(digest, Lie.RANGE_START_SHIFTED);
    Response r = get(blobPath, "Range: bytes=100-");
    assertThat(r.status()).isEqualTo(206);
    assertThat(r.header("Content-Range")).hasValue("bytes 101-9999/10000");
    assertThat(r.body()).isEqualTo(Arrays.copyOfRange(blob, 101, 10000));
  }

  @Test
  void ignoreRange_answersTheWholeBodyWith200() throws IOException {
    reg.lie(digest, Lie.IGNORE_RANGE);
    Response r = get(blobPath, "Range: bytes=100-");
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.header("Content-Range")).isEmpty();
    assertThat(r.body()).isEqualTo(blob);
  }

  @Test
  void unknownThings_are404WithOciErrorCodes() throws IOException {
    String missing = OciJson.sha256(new byte[] {1});
    assertThat(errorCode(get("/v2/" + REPO + "/blobs/" + missing))).isEqualTo("BLOB_UNKNOWN");
    assertThat(errorCode(get("/v2/" + REPO + "/manifests/nope"))).isEqualTo("MANIFEST_UNKNOWN");
    assertThat(errorCode(get("/v2/no/such/repo/manifests/v1"))).isEqualTo("NAME_UNKNOWN");
    assertThat(errorCode(get("/v2/" + REPO + "/blobs/notadigest"))).isEqualTo("DIGEST_INVALID");
    assertThat(get("/v2/no/such/repo/manifests/v1").status()).isEqualTo(404);
  }

  @Test
  void manifest_isServedByTagAndByDigest_withContentTypeAndDigest() throws IOException {
    HostileRegistry.Image img = reg.putImage(REPO, "v1", blob);
    for (String ref : new String[] {"v1", img.manifestDigest()}) {
      Response r = get("/v2/" + REPO + "/manifests/" + ref);
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.body()).isEqualTo(img.manifest());
      assertThat(r.header("Content-Type")).hasValue(OciJson.IMAGE_MANIFEST);
      assertThat(r.header("Docker-Content-Digest")).hasValue(img.manifestDigest());
    }
    JsonNode m = JSON.readTree(img.manifest());
    assertThat(m.path("config").path("digest").asText()).isEqualTo(img.configDigest());
    assertThat(m.path("layers").get(0).path("digest").asText()).isEqualTo(digest);
    assertThat(get("/v2/" + REPO + "/blobs/" + img.configDigest()).status()).isEqualTo(200);
  }

  @Test
  void tagsList_paginatesWithNLastAndLinkHeader() throws Exception {
    for (String t : new String[] {"c", "a", "b"}) {
      reg.putManifest(
          REPO,
          t,
          OciJson.IMAGE_MANIFEST,
          OciJson.manifest(OciJson.descriptor(OciJson.IMAGE_CONFIG, OciJson.config(t))));
    }
    Response first = get("/v2/" + REPO + "/tags/list?n=2");
    assertThat(JSON.readTree(first.body()).path("tags").toString()).isEqualTo("[\"a\",\"b\"]");
    assertThat(first.header("Link")).hasValue("</v2/test/repo/tags/list?last=b&n=2>; rel=\"next\"");
    Response second = get("/v2/" + REPO + "/tags/list?last=b&n=2");
    assertThat(JSON.readTree(second.body()).path("tags").toString()).isEqualTo("[\"c\"]");
    assertThat(second.header("Link")).isEmpty();
    assertThat(JSON.readTree(get("/v2/" + REPO + "/tags/list").body()).path("name").asText())
        .isEqualTo(REPO);
  }

  // ------------------------------------------------------------------ body lies

  @Test
  void wrongBody_hasSameLengthAndHonestDigestHeader_butOtherBytes() throws IOException {
    reg.lie(digest, Lie.WRONG_BODY);
    Response r = get(blobPath);
    assertThat(r.complete()).isTrue();
    assertThat(r.body()).hasSize(blob.length).isNotEqualTo(blob);
    assertThat(r.header("Docker-Content-Digest")).hasValue(digest);
  }

  @Test
  void flipFirstAndLastByte_changeExactlyOneByte() throws IOException {
    reg.lie(digest, Lie.FLIP_FIRST_BYTE);
    byte[] first = get(blobPath).body();
    reg.lie(digest, Lie.FLIP_LAST_BYTE);
    byte[] last = get(blobPath).body();
    assertThat(first[0]).isEqualTo((byte) (blob[0] ^ 1));
    assertThat(Arrays.copyOfRange(first, 1, blob.length))
        .isEqualTo(Arrays.copyOfRange(blob, 1, blob.length));
    assertThat(last[blob.length - 1]).isEqualTo((byte) (blob[blob.length - 1] ^ 1));
    assertThat(Arrays.copyOf(last, blob.length - 1))
        .isEqualTo(Arrays.copyOf(blob, blob.length - 1));
  }

  @Test
  void extraBytes_contentLengthMatchesTheLongerBody_andConnectionStaysUsable() throws IOException {
    reg.lie(digest, Lie.EXTRA_BYTES);
    try (RawHttpClient c = client()) {
      Response r = c.get(blobPath);
      assertThat(r.header("Content-Length")).hasValue(Integer.toString(blob.length + 16));
      assertThat(Arrays.copyOf(r.body(), blob.length)).isEqualTo(blob);
      assertThat(r.body()).hasSize(blob.length + 16);
      assertThat(c.get("/v2/").status()).isEqualTo(200);
    }
  }

  @Test
  void truncate_sendsHalfTheBodyThenCloses() throws IOException {
    reg.lie(digest, Lie.TRUNCATE);
    try (RawHttpClient c = client()) {
      Response r = c.get(blobPath);
      assertThat(r.header("Content-Length")).hasValue("10000");
      assertThat(r.complete()).isFalse();
      assertThat(r.body()).isEqualTo(Arrays.copyOf(blob, 5000));
      assertThat(c.serverClosed(Duration.ofSeconds(2))).isTrue();
    }
    RecordedRequest rec = reg.requests("GET", blobPath).get(0);
    assertThat(rec.awaitDone(Duration.ofSeconds(2))).isTrue();
    assertThat(rec.bodyBytesWritten()).isEqualTo(5000);
    assertThat(rec.bodyComplete()).isFalse();
  }

  @Test
  void truncate_jdkHttpClientSeesAnError() {
    reg.lie(digest, Lie.TRUNCATE);
    assertThatThrownBy(
            () ->
                HttpClient.newHttpClient()
                    .send(
                        HttpRequest.newBuilder(URI.create(reg.url() + blobPath)).build(),
                        HttpResponse.BodyHandlers.ofByteArray()))
        .isInstanceOf(IOException.class);
  }

  @Test
  void chunked_isWellFramedWithOddChunksAndExtension_andAcceptedByJdkHttpClient() throws Exception {
    reg.lie(digest, Lie.CHUNKED);
    try (RawHttpClient c = client()) {
      c.send("GET", blobPath);
      String head = readHead(c.input());
      assertThat(head).contains("Transfer-Encoding: chunked").doesNotContain("Content-Length");
      String firstChunk = new String(c.input().readNBytes(32), StandardCharsets.ISO_8859_1);
      assertThat(firstChunk).startsWith("1;hostile=chunk-extension\r\n");
    }
    try (RawHttpClient c = client()) {
      Response r = c.get(blobPath);
      assertThat(r.chunked()).isTrue();
      assertThat(r.complete()).isTrue();
      assertThat(r.body()).isEqualTo(blob);
      assertThat(c.get("/v2/").status()).isEqualTo(200); // keep-alive after the last chunk
    }
    HttpResponse<byte[]> r =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create(reg.url() + blobPath)).build(),
                HttpResponse.BodyHandlers.ofByteArray());
    assertThat(r.body()).isEqualTo(blob);
  }

  @Test
  void chunkedWrong_isWellFramedButLastByteFlipped() throws IOException {
    reg.lie(digest, Lie.CHUNKED_WRONG);
    Response r = get(blobPath);
    assertThat(r.chunked()).isTrue();
    assertThat(r.complete()).isTrue();
    assertThat(r.body()).hasSize(blob.length).isNotEqualTo(blob);
    assertThat(r.body()[blob.length - 1]).isEqualTo((byte) (blob[blob.length - 1] ^ 1));
  }

  @Test
  void chunkedBadFraming_sendsANonHexChunkSizeAndCloses() throws IOException {
    reg.lie(digest, Lie.CHUNKED_BAD_FRAMING);
    try (RawHttpClient c = client()) {
      Response r = c.get(blobPath);
      assertThat(r.complete()).isFalse();
      assertThat(r.problem()).startsWith("bad chunk size line: zz");
      assertThat(c.serverClosed(Duration.ofSeconds(2))).isTrue();
    }
  }

  @Test
  void chunkedAndTruncate_endWithoutTheLastChunk() throws IOException {
    reg.lie(digest, Lie.CHUNKED, Lie.TRUNCATE);
    Response r = get(blobPath);
    assertThat(r.chunked()).isTrue();
    assertThat(r.complete()).isFalse();
    assertThat(r.body()).isEqualTo(Arrays.copyOf(blob, 5000));
  }

  // ------------------------------------------------------------------ header lies

  @Test
  void digestHeaderText_sendsExactlyThatText_overAnHonestBody() throws IOException {
    String markup = "sha256:<img src=x onerror=alert(1)>";
    reg.lie(digest, Lie.digestHeaderText(markup));
    Response r = get(blobPath);
    assertThat(r.body()).isEqualTo(blob);
    assertThat(r.header("Docker-Content-Digest")).hasValue(markup);
  }

  @Test
  void falseDigestHeader_namesAnotherSha256_overAnHonestBody() throws IOException {
    reg.lie(digest, Lie.FALSE_DIGEST_HEADER);
    Response r = get(blobPath);
    assertThat(r.body()).isEqualTo(blob);
    assertThat(r.header("Docker-Content-Digest").orElseThrow())
        .startsWith("sha256:")
        .isNotEqualTo(digest);
  }

  @Test
  void otherAlgorithmHeader_isTheTrueSha512OfADifferentBody() throws IOException {
    reg.lie(digest, Lie.OTHER_ALGORITHM_HEADER);
    Response r = get(blobPath);
    assertThat(r.body()).hasSize(blob.length).isNotEqualTo(blob);
    assertThat(r.header("Docker-Content-Digest")).hasValue(OciJson.sha512(r.body()));
  }

  @Test
  void noDigestHeader_omitsTheHeaderOnGetAndHead() throws IOException {
    reg.lie(digest, Lie.NO_DIGEST_HEADER);
    try (RawHttpClient c = client()) {
      Response r = c.get(blobPath);
      assertThat(r.body()).isEqualTo(blob);
      assertThat(r.header("Docker-Content-Digest")).isEmpty();
      assertThat(c.head(blobPath).header("Docker-Content-Digest")).isEmpty();
    }
  }

  // ------------------------------------------------------------------ manifest lies

  @Test
  void manifestByDigestSubstituted_servesAnotherValidManifestWithMatchingHeaders()
      throws IOException {
    HostileRegistry.Image img = reg.putImage(REPO, "v1", blob);
    reg.lie(img.manifestDigest(), Lie.MANIFEST_BY_DIGEST_SUBSTITUTED);
    Response r = get("/v2/" + REPO + "/manifests/" + img.manifestDigest());
    assertThat(r.body())
        .isEqualTo(HostileRegistry.substituteManifest())
        .isNotEqualTo(img.manifest());
    assertThat(r.header("Docker-Content-Digest")).hasValue(OciJson.sha256(r.body()));
    assertThat(JSON.readTree(r.body()).path("schemaVersion").asInt()).isEqualTo(2);
    assertThat(get("/v2/" + REPO + "/manifests/v1").body())
        .isEqualTo(img.manifest()); // tag: honest
  }

  @Test
  void mediaTypeMismatch_contentTypeContradictsTheJson() throws IOException {
    HostileRegistry.Image img = reg.putImage(REPO, "v1", blob);
    byte[] index =
        OciJson.index(
            new OciJson.Descriptor(
                    OciJson.IMAGE_MANIFEST, img.manifestDigest(), img.manifest().length)
                .withPlatform("linux", "amd64"));
    String indexDigest = reg.putManifest(REPO, "multi", OciJson.IMAGE_INDEX, index);
    reg.lie("v1", Lie.MEDIA_TYPE_MISMATCH);
    reg.lie("multi", Lie.MEDIA_TYPE_MISMATCH);
    Response m = get("/v2/" + REPO + "/manifests/v1");
    assertThat(m.header("Content-Type")).hasValue(OciJson.IMAGE_INDEX);
    assertThat(m.body()).isEqualTo(img.manifest());
    Response i = get("/v2/" + REPO + "/manifests/multi");
    assertThat(i.header("Content-Type")).hasValue(OciJson.IMAGE_MANIFEST);
    assertThat(i.header("Docker-Content-Digest")).hasValue(indexDigest);
    assertThat(OciJson.mediaTypeOf(i.body())).isEqualTo(OciJson.IMAGE_INDEX);
  }

  @Test
  void invalidJson_isNotJsonButCarriesItsTrueDigest() throws IOException {
    reg.putImage(REPO, "v1", blob);
    reg.lie("v1", Lie.INVALID_JSON);
    Response r = get("/v2/" + REPO + "/manifests/v1");
    assertThatThrownBy(() -> JSON.readTree(r.body())).isInstanceOf(IOException.class);
    assertThat(r.header("Docker-Content-Digest")).hasValue(OciJson.sha256(r.body()));
  }

  @Test
  void oversizedManifest_isValidJsonOfExactSize_andRecordsBytesWrittenBeforePeerClosed()
      throws IOException {
    reg.putImage(REPO, "v1", blob);
    reg.lie("v1", Lie.oversizedManifest(8 << 20));
    Response full = get("/v2/" + REPO + "/manifests/v1");
    assertThat(full.body()).hasSize(8 << 20);
    assertThat(full.header("Docker-Content-Digest")).hasValue(OciJson.sha256(full.body()));
    assertThat(JSON.readTree(full.body()).path("mediaType").asText())
        .isEqualTo(OciJson.IMAGE_MANIFEST);

    reg.clearRequests();
    try (RawHttpClient c = client()) {
      c.socket().setReceiveBufferSize(64 * 1024);
      c.send("GET", "/v2/" + REPO + "/manifests/v1");
      readHead(c.input());
      c.input().readNBytes(256 * 1024);
    } // closed after reading 256 KiB of 8 MiB
    RecordedRequest rec = reg.requests().get(0);
    assertThat(rec.awaitDone(Duration.ofSeconds(5))).isTrue();
    assertThat(rec.bodyComplete()).isFalse();
    assertThat(rec.bodyBytesWritten()).isGreaterThanOrEqualTo(256 * 1024).isLessThan(4 << 20);
  }

  // ------------------------------------------------------------------ redirects and timing

  @Test
  void redirectTo_answers307ToTheSamePathOnTheOtherRegistry() throws Exception {
    try (HostileRegistry other = HostileRegistry.start()) {
      other.putBlob(REPO, blob);
      reg.lie(digest, Lie.redirectTo(other));
      Response r = get(blobPath + "?x=1");
      assertThat(r.status()).isEqualTo(307);
      assertThat(r.header("Location")).hasValue(other.url() + blobPath + "?x=1");
      HttpResponse<byte[]> followed =
          HttpClient.newBuilder()
              .followRedirects(HttpClient.Redirect.NORMAL)
              .build()
              .send(
                  HttpRequest.newBuilder(URI.create(reg.url() + blobPath)).build(),
                  HttpResponse.BodyHandlers.ofByteArray());
      assertThat(followed.body()).isEqualTo(blob);
      assertThat(other.count("GET", blobPath)).isEqualTo(1);
    }
  }

  @Test
  void trickle_sendsOneBytePerInterval() throws IOException {
    byte[] small = "0123456789".getBytes(StandardCharsets.US_ASCII);
    String d = reg.putBlob(REPO, small);
    reg.lie(d, Lie.trickle(Duration.ofMillis(20)));
    long t0 = System.nanoTime();
    Response r = get("/v2/" + REPO + "/blobs/" + d);
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertThat(r.body()).isEqualTo(small);
    assertThat(ms).isGreaterThanOrEqualTo(9 * 20);
  }

  /** Sends {@code GET /v2/} and asserts that no byte of the answer comes within {@code ms}. */
  private Socket askV2_andSeeNoAnswerFor(int ms) throws IOException {
    Socket s = new Socket("127.0.0.1", reg.port());
    s.getOutputStream()
        .write("GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    s.setSoTimeout(ms);
    assertThatThrownBy(() -> s.getInputStream().read())
        .isInstanceOf(java.net.SocketTimeoutException.class);
    return s;
  }

  @Test
  void delayHeaders_holdsTheStatusLineBack() throws IOException {
    reg.lie("/v2/", Lie.delayHeaders(Duration.ofMillis(300)));
    try (Socket s = askV2_andSeeNoAnswerFor(150)) {
      s.setSoTimeout(2000);
      assertThat(s.getInputStream().read()).isEqualTo('H');
    }
  }

  @Test
  void releaseDelays_endsADelayInProgress_andTheNextRequestIsDelayedAgain() throws IOException {
    reg.lie("/v2/", Lie.delayHeaders(Duration.ofSeconds(30)));
    try (Socket s = askV2_andSeeNoAnswerFor(300)) {
      reg.releaseDelays();
      s.setSoTimeout(5000);
      assertThat(s.getInputStream().read()).isEqualTo('H');
    }
    try (Socket s = new Socket("127.0.0.1", reg.port())) {
      s.getOutputStream()
          .write("GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      s.setSoTimeout(300);
      assertThatThrownBy(() -> s.getInputStream().read())
          .isInstanceOf(java.net.SocketTimeoutException.class);
      reg.releaseDelays();
    }
  }

  @Test
  void status429_carriesRetryAfterAndTooManyRequests() throws IOException {
    reg.lie(digest, Lie.status(429, 3));
    Response r = get(blobPath);
    assertThat(r.status()).isEqualTo(429);
    assertThat(r.header("Retry-After")).hasValue("3");
    assertThat(errorCode(r)).isEqualTo("TOOMANYREQUESTS");
    reg.lie(digest, Lie.status(503));
    Response u = get(blobPath);
    assertThat(u.status()).isEqualTo(503);
    assertThat(u.header("Retry-After")).isEmpty();
  }

  @Test
  void closeBeforeHeaders_closesWithoutAStatusLine() throws IOException {
    reg.lie(digest, Lie.CLOSE_BEFORE_HEADERS);
    try (RawHttpClient c = client()) {
      c.send("GET", blobPath);
      assertThat(c.serverClosed(Duration.ofSeconds(2))).isTrue();
    }
    RecordedRequest rec = reg.requests().get(0);
    assertThat(rec.awaitDone(Duration.ofSeconds(2))).isTrue();
    assertThat(rec.status()).isEqualTo(-1);
  }

  // ------------------------------------------------------------------ selection, stats, lifecycle

  @Test
  void lieTimes_liesOnlyForTheNextNRequests_andUnlieRestoresHonesty() throws IOException {
    reg.lieTimes(digest, 2, Lie.status(500));
    assertThat(get(blobPath).status()).isEqualTo(500);
    assertThat(get(blobPath).status()).isEqualTo(500);
    assertThat(get(blobPath).status()).isEqualTo(200);
    reg.lie("*", Lie.WRONG_BODY);
    assertThat(get(blobPath).body()).isNotEqualTo(blob);
    reg.unlie("*");
    assertThat(get(blobPath).body()).isEqualTo(blob);
    assertThat(reg.count("GET", blobPath)).isEqualTo(5);
    assertThat(reg.count("HEAD", blobPath)).isZero();
  }

  @Test
  void requests_recordMethodPathQueryAndHeaders() throws IOException {
    get(blobPath + "?a=1&b=x%2Fy", "Authorization: Bearer abc", "X-Test: 1");
    RecordedRequest r = reg.requests().get(0);
    assertThat(r.method()).isEqualTo("GET");
    assertThat(r.path()).isEqualTo(blobPath);
    assertThat(r.query()).isEqualTo("a=1&b=x%2Fy");
    assertThat(r.queryParam("b")).hasValue("x/y");
    assertThat(r.header("authorization")).hasValue("Bearer abc");
    assertThat(r.awaitDone(Duration.ofSeconds(2))).isTrue();
    assertThat(r.status()).isEqualTo(200);
    assertThat(r.bodyBytesWritten()).isEqualTo(blob.length);
  }

  @Test
  void stopAndRestart_refusesConnectionsThenServesOnTheSamePort() throws IOException {
    int port = reg.port();
    RawHttpClient idle = client();
    assertThat(idle.get("/v2/").status()).isEqualTo(200);
    reg.stop();
    assertThat(idle.serverClosed(Duration.ofSeconds(2))).isTrue();
    idle.close();
    assertThatThrownBy(() -> new Socket("127.0.0.1", port).close())
        .isInstanceOf(ConnectException.class);
    reg.restart();
    assertThat(reg.port()).isEqualTo(port);
    assertThat(get(blobPath).body()).isEqualTo(blob);
  }

  // ------------------------------------------------------------------ auth

  @Test
  void requireBasic_challengesUntilCredentialsMatch() throws IOException {
    reg.requireBasic("alice", "s3cret");
    Response none = get("/v2/");
    assertThat(none.status()).isEqualTo(401);
    assertThat(none.header("WWW-Authenticate")).hasValue("Basic realm=\"hostile\"");
    assertThat(get("/v2/", "Authorization: " + AuthGate.basicHeader("alice", "wrong")).status())
        .isEqualTo(401);
    assertThat(get(blobPath, "Authorization: " + AuthGate.basicHeader("alice", "s3cret")).body())
        .isEqualTo(blob);
  }

  @Test
  void requireBearer_fullTokenFlow_withScopeBoundTokens() throws IOException {
    reg.requireBearer("bob", "pw");
    assertThat(get("/v2/").header("WWW-Authenticate"))
        .hasValue("Bearer realm=\"" + reg.url() + "/token\",service=\"hostile\"");
    Response challenged = get(blobPath);
    assertThat(challenged.status()).isEqualTo(401);
    assertThat(challenged.header("WWW-Authenticate"))
        .hasValue(
            "Bearer realm=\""
                + reg.url()
                + "/token\",service=\"hostile\",scope=\"repository:test/repo:pull\"");

    String tokenPath = "/token?service=hostile&scope=repository%3Atest%2Frepo%3Apull";
    assertThat(get(tokenPath).status()).isEqualTo(401); // the token endpoint needs bob's password
    Response tokenReply = get(tokenPath, "Authorization: " + AuthGate.basicHeader("bob", "pw"));
    JsonNode json = JSON.readTree(tokenReply.body());
    assertThat(json.path("expires_in").asInt()).isEqualTo(60);
    String token = json.path("token").asText();

    assertThat(get(blobPath, "Authorization: Bearer " + token).body()).isEqualTo(blob);
    assertThat(get("/v2/", "Authorization: Bearer " + token).status()).isEqualTo(200);
    Response otherRepo = get("/v2/other/repo/blobs/" + digest, "Authorization: Bearer " + token);
    assertThat(otherRepo.status()).isEqualTo(401);
    assertThat(otherRepo.header("WWW-Authenticate").orElseThrow())
        .contains("error=\"insufficient_scope\"");

    reg.expireTokens();
    Response expired = get(blobPath, "Authorization: Bearer " + token);
    assertThat(expired.header("WWW-Authenticate").orElseThrow())
        .contains("error=\"invalid_token\"");
    assertThat(reg.count("GET", "/token")).isEqualTo(2);
    assertThat(reg.requests("GET", "/token").get(1).queryParam("scope"))
        .hasValue("repository:test/repo:pull");
  }

  @Test
  void tokenEndpoint_rejectsAWrongService() throws IOException {
    reg.requireBearer();
    assertThat(get("/token?service=other&scope=repository:test/repo:pull").status()).isEqualTo(400);
    assertThat(get("/token?service=hostile&scope=repository:test/repo:pull").status())
        .isEqualTo(200);
  }

  // ------------------------------------------------------------------ helpers

  private static String errorCode(Response r) throws IOException {
    return JSON.readTree(r.body()).path("errors").get(0).path("code").asText();
  }

  private static String readHead(InputStream in) throws IOException {
    var sb = new StringBuilder();
    while (!sb.toString().endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("EOF in head: " + sb);
      }
      sb.append((char) b);
    }
    return sb.toString();
  }
}
