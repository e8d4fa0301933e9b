package dev.ociproxy.server.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;
import java.util.Set;
import org.junit.jupiter.api.Test;

class NamespaceEchoHandlerTest {
  private final EmbeddedChannel channel =
      new EmbeddedChannel(new NamespaceEchoHandler(Set.of("registry.example.com", "docker.io")));

  private FullHttpResponse answer(String uri) {
    receive(uri);
    return respond();
  }

  private void receive(String uri) {
    channel.writeInbound(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.HEAD, uri));
    HttpRequest passed = channel.readInbound();
    assertThat(passed.uri()).isEqualTo(uri);
    ReferenceCountUtil.release(passed);
  }

  private FullHttpResponse respond() {
    channel.writeOutbound(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK));
    return channel.readOutbound();
  }

  @Test
  void nsNamingAConfiguredUpstream_isEchoedAsOciNamespace() {
    FullHttpResponse r = answer("/v2/library/alpine/manifests/3?ns=docker.io");
    assertThat(r.headers().get("OCI-Namespace")).isEqualTo("docker.io");
    r.release();
    assertThat(channel.finishAndReleaseAll()).isFalse();
  }

  @Test
  void unknownOrMissingNs_isNotEchoed() {
    for (String uri :
        new String[] {
          "/v2/a/manifests/1?ns=quay.io", "/v2/a/manifests/1", "/v2/", "/v2/a/tags/list?n=10&last=x"
        }) {
      FullHttpResponse r = answer(uri);
      assertThat(r.headers().contains("OCI-Namespace")).as(uri).isFalse();
      r.release();
    }
    assertThat(channel.finishAndReleaseAll()).isFalse();
  }

  @Test
  void pipelinedRequests_eachGetTheirOwnNamespace_inOrder() {
    receive("/v2/a/manifests/1?ns=registry.example.com");
    receive("/v2/a/manifests/1");
    receive("/v2/a/manifests/1?ns=docker.io");

    FullHttpResponse first = respond();
    FullHttpResponse second = respond();
    FullHttpResponse third = respond();

    assertThat(first.headers().get("OCI-Namespace")).isEqualTo("registry.example.com");
    assertThat(second.headers().contains("OCI-Namespace")).isFalse();
    assertThat(third.headers().get("OCI-Namespace")).isEqualTo("docker.io");
    first.release();
    second.release();
    third.release();
    assertThat(channel.finishAndReleaseAll()).isFalse();
  }
}
