package dev.ociproxy.server.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.registry.TagList;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.FullHttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TagListResponsesTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path cache;
  private static TestMirrors mirrors;
  private static V2Request.ListTags prefixed;
  private static V2Request.ListTags plain;

  @BeforeAll
  static void createRequests() {
    mirrors = new TestMirrors(cache);
    Upstream example = mirrors.upstream("registry.example.com", "http://127.0.0.1:9");
    RepositoryName repo = new RepositoryName("test/hello");
    prefixed =
        new V2Request.ListTags(example.registry(), repo, "registry.example.com/test/hello", "");
    plain = new V2Request.ListTags(example.registry(), repo, "test/hello", "");
  }

  @AfterAll
  static void stopMirrors() {
    mirrors.close();
  }

  @Test
  void relativeNextLinkGetsTheClientsRepositoryName() {
    assertThat(
            TagListResponses.rewriteLink(
                "</v2/test/hello/tags/list?n=2&last=b>; rel=\"next\"", prefixed))
        .isEqualTo("</v2/registry.example.com/test/hello/tags/list?n=2&last=b>; rel=\"next\"");
  }

  @Test
  void absoluteNextLinkOnTheUpstreamBecomesARelativeLinkToTheProxy() {
    assertThat(
            TagListResponses.rewriteLink(
                "<https://upstream.example.com/v2/test/hello/tags/list?last=b&n=2>; rel=\"next\"",
                prefixed))
        .isEqualTo("</v2/registry.example.com/test/hello/tags/list?n=2&last=b>; rel=\"next\"");
  }

  @Test
  void nextLinkCarriesOnlyTheValidatedNAndLastOfTheUpstreamsQuery() {
    // An ns naming another upstream (or anything else) would send the client's next page there.
    assertThat(
            TagListResponses.rewriteLink(
                "</v2/test/hello/tags/list?ns=private.example&last=b&n=2&x=%2F..>; rel=\"next\"",
                prefixed))
        .isEqualTo("</v2/registry.example.com/test/hello/tags/list?n=2&last=b>; rel=\"next\"");
    assertThat(
            TagListResponses.rewriteLink(
                "</v2/x/tags/list?ns=private.example>; rel=\"next\"", plain))
        .isEqualTo("</v2/test/hello/tags/list>; rel=\"next\"");
  }

  @Test
  void nextLinkWithAnInvalidOrRepeatedLastOrNIsDropped() {
    assertThat(
            TagListResponses.rewriteLink(
                "</v2/x/tags/list?last=b%26ns%3Dother>; rel=\"next\"", plain))
        .isNull();
    assertThat(TagListResponses.rewriteLink("</v2/x/tags/list?last=a&last=b>; rel=\"next\"", plain))
        .isNull();
    assertThat(TagListResponses.rewriteLink("</v2/x/tags/list?n=-1>; rel=\"next\"", plain))
        .isNull();
    assertThat(
            TagListResponses.rewriteLink(
                "</v2/x/tags/list?last=b>; rel=\"next\", <http://evil>; rel=\"next\"", plain))
        .isEqualTo("</v2/test/hello/tags/list?last=b>; rel=\"next\"");
  }

  @Test
  void nextLinkWithoutQueryKeepsNoQuery() {
    assertThat(TagListResponses.rewriteLink("</v2/x/tags/list>; rel=\"next\"", plain))
        .isEqualTo("</v2/test/hello/tags/list>; rel=\"next\"");
  }

  @Test
  void questionMarkAfterTheUriIsNotTakenAsTheQuery() {
    assertThat(TagListResponses.rewriteLink("</v2/x/tags/list>; rel=\"next?\"", plain))
        .isEqualTo("</v2/test/hello/tags/list>; rel=\"next\"");
  }

  @Test
  void missingOrUnparsableLinkIsDropped() {
    assertThat(TagListResponses.rewriteLink(null, plain)).isNull();
    assertThat(TagListResponses.rewriteLink("/v2/x/tags/list?last=b; rel=next", plain)).isNull();
    assertThat(TagListResponses.rewriteLink("<unterminated", plain)).isNull();
  }

  @Test
  void responseBodyNamesTheRepositoryAsTheClientDid() throws Exception {
    TagList list = new TagList(bytes("{\"name\":\"test/hello\",\"tags\":[\"v1\",\"v2\"]}"), null);

    FullHttpResponse r = TagListResponses.of(ByteBufAllocator.DEFAULT, list, prefixed, false);
    try {
      JsonNode body = JSON.readTree(r.content().toString(StandardCharsets.UTF_8));
      assertThat(body.path("name").asText()).isEqualTo("registry.example.com/test/hello");
      assertThat(body.path("tags")).hasSize(2);
      assertThat(r.status().code()).isEqualTo(200);
      assertThat(r.headers().getInt("Content-Length")).isEqualTo(r.content().readableBytes());
      assertThat(r.headers().get("Content-Type")).isEqualTo("application/json");
      assertThat(r.headers().contains("Link")).isFalse();
    } finally {
      r.release();
    }
  }

  @Test
  void responseCarriesTheRewrittenLink() {
    TagList list =
        new TagList(
            bytes("{\"name\":\"test/hello\",\"tags\":[\"a\"]}"),
            "</v2/test/hello/tags/list?n=1&last=a>; rel=\"next\"");

    FullHttpResponse r = TagListResponses.of(ByteBufAllocator.DEFAULT, list, prefixed, false);
    try {
      assertThat(r.headers().get("Link"))
          .isEqualTo("</v2/registry.example.com/test/hello/tags/list?n=1&last=a>; rel=\"next\"");
    } finally {
      r.release();
    }
  }

  @Test
  void headResponseHasTheLengthButNoBody() {
    TagList list = new TagList(bytes("{\"name\":\"test/hello\",\"tags\":[]}"), null);

    FullHttpResponse r = TagListResponses.of(ByteBufAllocator.DEFAULT, list, plain, true);
    try {
      assertThat(r.content().readableBytes()).isZero();
      assertThat(r.headers().getInt("Content-Length")).isPositive();
    } finally {
      r.release();
    }
  }

  @Test
  void nullTagsAreAccepted() {
    TagList list = new TagList(bytes("{\"name\":\"test/hello\",\"tags\":null}"), null);

    FullHttpResponse r = TagListResponses.of(ByteBufAllocator.DEFAULT, list, plain, false);
    try {
      assertThat(r.status().code()).isEqualTo(200);
      assertThat(r.content().toString(StandardCharsets.UTF_8)).contains("\"tags\":null");
    } finally {
      r.release();
    }
  }

  @Test
  void malformedUpstreamTagListIsAnUpstreamError() {
    for (String body : new String[] {"not json", "[\"v1\"]", "{\"tags\":\"v1\"}"}) {
      TagList list = new TagList(bytes(body), null);

      assertThatThrownBy(() -> TagListResponses.of(ByteBufAllocator.DEFAULT, list, plain, false))
          .isInstanceOfSatisfying(
              RegistryException.class,
              e -> {
                assertThat(e.code()).isEqualTo(OciErrorCode.UNAVAILABLE);
                assertThat(e.status()).isEqualTo(502);
              });
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
