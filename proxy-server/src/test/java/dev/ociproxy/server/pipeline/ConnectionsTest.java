package dev.ociproxy.server.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** Draining for a graceful shutdown: idle connections close now, busy ones after their response. */
class ConnectionsTest {
  final Connections connections = new Connections();

  private EmbeddedChannel channel() {
    return new EmbeddedChannel(connections.newTracker());
  }

  @Test
  void idleConnection_isClosedWhenTheDrainStarts() {
    EmbeddedChannel idle = channel();
    assertThat(connections.size()).isEqualTo(1);
    CompletableFuture<Void> drained = connections.drain();
    idle.runPendingTasks();
    assertThat(idle.isOpen()).isFalse();
    assertThat(drained).succeedsWithin(Duration.ofSeconds(5));
    assertThat(idle.finishAndReleaseAll()).isFalse();
  }

  @Test
  void busyConnection_finishesItsResponse_thenCloses() {
    EmbeddedChannel busy = channel();
    busy.writeInbound(
        new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/v2/x/blobs/sha256:00"));
    Object req = busy.readInbound();
    io.netty.util.ReferenceCountUtil.release(req);
    CompletableFuture<Void> drained = connections.drain();
    busy.runPendingTasks();
    assertThat(busy.isOpen()).as("mid-response").isTrue();

    HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
    busy.writeOutbound(head, new DefaultHttpContent(Unpooled.wrappedBuffer(new byte[] {1, 2})));
    assertThat(busy.isOpen()).isTrue();
    assertThat(head.headers().get("Connection"))
        .as("the client is told not to reuse it")
        .isEqualTo("close");
    assertThat(drained).isNotDone();

    busy.writeOutbound(LastHttpContent.EMPTY_LAST_CONTENT);
    busy.runPendingTasks();
    assertThat(busy.isOpen()).isFalse();
    assertThat(drained).succeedsWithin(Duration.ofSeconds(5));
    busy.finishAndReleaseAll();
  }
}
