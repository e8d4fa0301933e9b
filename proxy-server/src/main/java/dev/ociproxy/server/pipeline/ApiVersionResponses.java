package dev.ociproxy.server.pipeline;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;

/** Renders the answer to {@code GET /v2/}, by which clients find a registry that speaks the API. */
final class ApiVersionResponses {
  private ApiVersionResponses() {}

  /** An empty JSON object and the API version header; without the body for HEAD. */
  static FullHttpResponse of(boolean head) {
    FullHttpResponse r =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1,
            HttpResponseStatus.OK,
            head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(new byte[] {'{', '}'}));
    r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
    r.headers().set(HttpHeaderNames.CONTENT_LENGTH, 2);
    r.headers().set("Docker-Distribution-API-Version", "registry/2.0");
    return r;
  }
}
