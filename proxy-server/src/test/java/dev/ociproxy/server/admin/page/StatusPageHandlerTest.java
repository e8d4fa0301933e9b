package dev.ociproxy.server.admin.page;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.ociproxy.server.auth.AdminToken;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The page's HTTP face on the admin listener: paths, methods, the token and the security headers.
 */
class StatusPageHandlerTest {
  private static final String TOKEN = "page-test-token-0123456789";

  @TempDir Path cache;
  PageFixture f;

  @BeforeEach
  void start() {
    f = new PageFixture(cache);
    f.tag("team/app", "v1");
  }

  @AfterEach
  void stop() {
    f.close();
  }

  private record Answer(int status, FullHttpResponse head, String body) {}

  private static Answer exchange(EmbeddedChannel ch, FullHttpRequest req) {
    String uri = req.uri();
    ch.writeInbound(req);
    // The channel is not thread-safe: poll it from the test's own thread.
    FullHttpResponse r =
        await("an answer to " + uri)
            .atMost(Duration.ofSeconds(20))
            .pollInterval(Duration.ofMillis(5))
            .pollInSameThread()
            .until(
                () -> {
                  ch.runPendingTasks();
                  return ch.<FullHttpResponse>readOutbound();
                },
                Objects::nonNull);
    try {
      return new Answer(
          r.status().code(), r.retainedDuplicate(), r.content().toString(StandardCharsets.UTF_8));
    } finally {
      r.release();
    }
  }

  private static FullHttpRequest get(String uri, String authorization) {
    FullHttpRequest r = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, uri);
    if (authorization != null) {
      r.headers().set("Authorization", authorization);
    }
    return r;
  }

  private Answer ask(AdminToken token, FullHttpRequest req) throws InterruptedException {
    EmbeddedChannel ch = new EmbeddedChannel(new StatusPageHandler(f.page, token));
    try {
      Answer a = exchange(ch, req);
      a.head().release();
      return a;
    } finally {
      assertThat(ch.finishAndReleaseAll()).isFalse();
    }
  }

  @Test
  void thePageCarriesAStrictContentSecurityPolicy_andIsNeverCached() throws Exception {
    EmbeddedChannel ch = new EmbeddedChannel(new StatusPageHandler(f.page, null));
    Answer a = exchange(ch, get("/?upstream=up.example", null));
    try {
      assertThat(a.status()).isEqualTo(200);
      assertThat(a.head().headers().get("Content-Type")).isEqualTo("text/html; charset=utf-8");
      assertThat(a.head().headers().get("Content-Security-Policy"))
          .contains("default-src 'none'")
          .contains("script-src 'self'")
          .contains("frame-ancestors 'none'")
          .doesNotContain("unsafe");
      assertThat(a.head().headers().get("Cache-Control")).isEqualTo("no-store");
      assertThat(a.head().headers().get("X-Content-Type-Options")).isEqualTo("nosniff");
      assertThat(a.body())
          .contains("<h1>registry-proxy status</h1>")
          .contains("team/app")
          .doesNotContain("<script>")
          .doesNotContain(" style=")
          .doesNotContainPattern("\\son[a-z]+=");
    } finally {
      a.head().release();
      assertThat(ch.finishAndReleaseAll()).isFalse();
    }
  }

  @Test
  void theScriptAndStylesAreServedFromTheirOwnPaths() throws Exception {
    assertThat(ask(null, get("/status.js", null)).body())
        .contains("Authorization")
        .contains("Bearer");
    assertThat(ask(null, get("/status.css", null)).body()).contains("focus-visible");
  }

  @Test
  void withATokenSet_noTokenGetsTheFormOnly_aWrongOneIs401_andTheRightOneTheStatus()
      throws Exception {
    AdminToken token = new AdminToken(TOKEN);

    Answer none = ask(token, get("/", null));
    Answer wrong = ask(token, get("/", "Bearer not-the-token-at-all-000"));
    Answer right = ask(token, get("/?upstream=up.example", "Bearer " + TOKEN));

    assertThat(none.status()).isEqualTo(200);
    assertThat(none.body())
        .contains("Admin token required")
        .doesNotContain("team/app")
        .doesNotContain("up.example");
    assertThat(wrong.status()).isEqualTo(401);
    assertThat(wrong.body()).doesNotContain("team/app");
    assertThat(right.status()).isEqualTo(200);
    assertThat(right.body()).contains("team/app");
  }

  @Test
  void thePageIsReadOnly_aPostIs405() throws Exception {
    Answer post = ask(null, new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/"));

    assertThat(post.status()).isEqualTo(405);
  }

  @Test
  void aBrokenPercentEscapeInTheQueryIs400_andTheConnectionStaysOpen() throws Exception {
    EmbeddedChannel ch = new EmbeddedChannel(new StatusPageHandler(f.page, null));
    Answer bad = exchange(ch, get("/?q=%zz", null));
    Answer good = exchange(ch, get("/?q=app", null));
    try {
      assertThat(bad.status()).isEqualTo(400);
      assertThat(bad.body()).startsWith("malformed query");
      assertThat(good.status()).isEqualTo(200);
      assertThat(good.body()).contains("team/app");
    } finally {
      bad.head().release();
      good.head().release();
      assertThat(ch.finishAndReleaseAll()).isFalse();
    }
  }

  @Test
  void otherPathsPassOnToTheNextHandler() {
    EmbeddedChannel ch = new EmbeddedChannel(new StatusPageHandler(f.page, null));
    FullHttpRequest metrics = get("/metrics", null);

    ch.writeInbound(metrics);

    FullHttpRequest passed = ch.readInbound();
    assertThat(passed).isSameAs(metrics);
    passed.release();
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }
}
