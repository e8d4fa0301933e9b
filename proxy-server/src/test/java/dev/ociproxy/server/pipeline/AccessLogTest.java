package dev.ociproxy.server.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.ociproxy.server.auth.AccessPolicy;
import dev.ociproxy.server.config.ProxyConfig;
import dev.ociproxy.testing.HostileRegistry;
import dev.ociproxy.testing.RawHttpClient;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** The access log writes its line by watching requests and responses go by, whoever writes them. */
class AccessLogTest {
  private final ListAppender<ILoggingEvent> lines = new ListAppender<>();
  private final Logger access = (Logger) LoggerFactory.getLogger("access");

  @BeforeEach
  void captureAccessLog() {
    lines.start();
    access.addAppender(lines);
  }

  @AfterEach
  void stopCapturing() {
    access.detachAppender(lines);
  }

  @Test
  void aStreamedResponseIsOneLineWithItsBodyBytes_writtenOnceItsLastPartIsOut() {
    EmbeddedChannel ch = observed();
    ch.writeInbound(
        new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/v2/a/blobs/x"));

    ch.write(new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK));
    ch.write(new DefaultHttpContent(Unpooled.wrappedBuffer(new byte[700])));
    ch.write(new DefaultHttpContent(Unpooled.wrappedBuffer(new byte[300])));
    ch.flush();
    assertThat(lines.list).as("no line before the last part").isEmpty();
    ch.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);

    assertThat(lines.list)
        .singleElement()
        .satisfies(
            e -> {
              assertThat(e.getFormattedMessage())
                  .startsWith("GET /v2/a/blobs/x 200 1000B ")
                  .doesNotContain("aborted");
            });
    assertThat(ch.finishAndReleaseAll()).isTrue();
  }

  @Test
  void aConnectionClosedBeforeTheLastPartIsLoggedAborted_withTheBytesWrittenSoFar() {
    EmbeddedChannel ch = observed();
    ch.writeInbound(
        new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/v2/a/blobs/x"));
    ch.write(new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK));
    ch.writeAndFlush(new DefaultHttpContent(Unpooled.wrappedBuffer(new byte[123])));

    ch.close();

    assertThat(lines.list)
        .singleElement()
        .satisfies(
            e ->
                assertThat(e.getFormattedMessage())
                    .startsWith("GET /v2/a/blobs/x 200 123B ")
                    .endsWith(" aborted"));
    ch.finishAndReleaseAll();
  }

  @Test
  void aLastPartThatFailsToBeWrittenIsLoggedAborted_once() {
    EmbeddedChannel ch =
        new EmbeddedChannel(
            new ChannelOutboundHandlerAdapter() {
              @Override
              public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
                if (msg instanceof LastHttpContent last) {
                  last.release();
                  promise.setFailure(new IOException("connection reset"));
                  ctx.close();
                  return;
                }
                ctx.write(msg, promise);
              }
            });
    AccessLog log = new AccessLog();
    ch.pipeline().addLast(log.inbound(), log.outbound());
    ch.writeInbound(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.HEAD, "/v2/"));

    ch.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK));

    assertThat(lines.list)
        .singleElement()
        .satisfies(
            e ->
                assertThat(e.getFormattedMessage())
                    .startsWith("HEAD /v2/ 200 0B ")
                    .endsWith(" aborted"));
    ch.finishAndReleaseAll();
  }

  @Test
  void requestsTheAccessLogNeverSawLeaveNoLine() {
    EmbeddedChannel ch = observed();

    ch.writeAndFlush(new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK));
    ch.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
    ch.close();

    assertThat(lines.list).isEmpty();
    ch.finishAndReleaseAll();
  }

  private static EmbeddedChannel observed() {
    AccessLog log = new AccessLog();
    return new EmbeddedChannel(log.inbound(), log.outbound());
  }

  /** Over the assembled pipeline and a real upstream: a HEAD the cache answered says so. */
  @Nested
  class Heads {
    @TempDir Path cache;
    HostileRegistry up;
    TestMirrors mirrors;
    NioEventLoopGroup group;
    Channel server;

    @BeforeEach
    void start() {
      up = HostileRegistry.start();
      mirrors = new TestMirrors(cache);
      Upstream mirror = mirrors.upstream("up.test", up.url());
      group = new NioEventLoopGroup(1);
      server =
          new ServerBootstrap()
              .group(group)
              .channel(NioServerSocketChannel.class)
              .childHandler(
                  new ProxyChannelInitializer(
                      ProxyConfig.Limits.defaults(),
                      Map.of("up.test", mirror),
                      mirror,
                      null,
                      AccessPolicy.open()))
              .bind("127.0.0.1", 0)
              .syncUninterruptibly()
              .channel();
    }

    @AfterEach
    void stop() {
      server.close().syncUninterruptibly();
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
      mirrors.close();
      up.close();
    }

    @Test
    void aBlobHeadForwardedUpstreamIsAMiss_andOneAnsweredFromTheCacheIsAHit() throws Exception {
      byte[] layer = new byte[5_000];
      new Random(7).nextBytes(layer);
      String blob =
          "/v2/test/app/blobs/" + up.putImage("test/app", "v1", layer).layerDigests().get(0);
      InetSocketAddress a = (InetSocketAddress) server.localAddress();
      try (RawHttpClient c = new RawHttpClient("127.0.0.1", a.getPort(), Duration.ofSeconds(10))) {
        assertThat(c.head(blob).status()).isEqualTo(200);
        assertThat(c.get(blob).status()).isEqualTo(200);
        assertThat(c.head(blob).status()).isEqualTo(200);
        // Read only once the HEAD's line is written: after this answer, that line is there.
        assertThat(c.get("/v2/").status()).isEqualTo(200);
      }

      List<String> heads =
          lines.list.stream()
              .map(ILoggingEvent::getFormattedMessage)
              .filter(l -> l.startsWith("HEAD "))
              .toList();
      assertThat(heads).hasSize(2);
      assertThat(heads.get(0)).contains(" cache=miss ");
      assertThat(heads.get(1)).contains(" cache=hit ");
      assertThat(up.requests("HEAD", "/v2/test/app/blobs/")).hasSize(1);
    }

    @Test
    void aManifestHeadForwardedUpstreamIsAMiss_andOneAnsweredFromTheCacheIsAHit() throws Exception {
      up.putImage("test/app", "v1", new byte[] {1, 2, 3});
      InetSocketAddress a = (InetSocketAddress) server.localAddress();
      try (RawHttpClient c = new RawHttpClient("127.0.0.1", a.getPort(), Duration.ofSeconds(10))) {
        assertThat(c.head("/v2/test/app/manifests/v1").status()).isEqualTo(200);
        assertThat(c.head("/v2/test/app/manifests/v1").status()).isEqualTo(200);
        // Read only once the second HEAD's line is written: after this answer, that line is there.
        assertThat(c.get("/v2/").status()).isEqualTo(200);
      }

      List<String> heads =
          lines.list.stream()
              .map(ILoggingEvent::getFormattedMessage)
              .filter(l -> l.startsWith("HEAD "))
              .toList();
      assertThat(heads).hasSize(2);
      assertThat(heads.get(0)).contains(" cache=miss ");
      assertThat(heads.get(1)).contains(" cache=hit ");
      assertThat(up.requests("GET", "/v2/test/app/manifests/")).hasSize(1);
    }
  }
}
