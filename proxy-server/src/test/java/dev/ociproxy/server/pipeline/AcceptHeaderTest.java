package dev.ociproxy.server.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import java.util.List;
import org.junit.jupiter.api.Test;

class AcceptHeaderTest {
  @Test
  void mediaTypesAreListedInOrderWithoutParametersOrEmptyParts() {
    HttpRequest req =
        request(
            "application/vnd.oci.image.index.v1+json;q=0.9, ,"
                + " application/vnd.oci.image.manifest.v1+json ,*/*;q=0.1");

    assertThat(AcceptHeader.mediaTypes(req))
        .containsExactly(
            "application/vnd.oci.image.index.v1+json",
            "application/vnd.oci.image.manifest.v1+json",
            "*/*");
  }

  @Test
  void everyAcceptHeaderOfARequestCounts() {
    HttpRequest req = request("a/b");
    req.headers().add(HttpHeaderNames.ACCEPT, "c/d, e/f");

    assertThat(AcceptHeader.mediaTypes(req)).containsExactly("a/b", "c/d", "e/f");
  }

  @Test
  void atMost32TypesAreKept() {
    StringBuilder h = new StringBuilder();
    for (int i = 0; i < 40; i++) {
      h.append("t/").append(i).append(',');
    }

    List<String> types = AcceptHeader.mediaTypes(request(h.toString()));

    assertThat(types).hasSize(32).startsWith("t/0").endsWith("t/31");
  }

  @Test
  void theSameHeaderAgainGetsTheSameParsedList_andManyDistinctHeadersStillParseRight() {
    List<String> first = AcceptHeader.mediaTypes(request("x/repeat, y/repeat"));
    for (int i = 0; i < 1000; i++) { // more distinct values than the cache keeps
      assertThat(AcceptHeader.mediaTypes(request("z/" + i))).containsExactly("z/" + i);
    }

    assertThat(AcceptHeader.mediaTypes(request("x/repeat, y/repeat")))
        .isEqualTo(first)
        .containsExactly("x/repeat", "y/repeat");
  }

  @Test
  void noAcceptHeaderMeansAnyType() {
    HttpRequest req = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/v2/a/b");

    assertThat(AcceptHeader.mediaTypes(req)).isEmpty();
  }

  private static HttpRequest request(String accept) {
    HttpRequest req = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/v2/a/b");
    req.headers().set(HttpHeaderNames.ACCEPT, accept);
    return req;
  }
}
