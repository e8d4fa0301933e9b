package dev.ociproxy.server.pipeline;

import dev.ociproxy.core.oci.MediaTypes;
import dev.ociproxy.core.registry.Referrers;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import org.jspecify.annotations.Nullable;

/**
 * Renders verified referrers as the spec's answer: an OCI image index, 200 even when empty, with
 * {@code OCI-Filters-Applied: artifactType} when the client's filter was applied.
 */
final class ReferrersResponses {
  private ReferrersResponses() {}

  static FullHttpResponse of(Referrers referrers, @Nullable String artifactType, boolean head) {
    byte[] body = (artifactType == null ? referrers : referrers.filtered(artifactType)).indexJson();
    FullHttpResponse r =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1,
            HttpResponseStatus.OK,
            head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body));
    r.headers().set(HttpHeaderNames.CONTENT_TYPE, MediaTypes.OCI_INDEX);
    r.headers().set(HttpHeaderNames.CONTENT_LENGTH, body.length);
    r.headers().set("Docker-Distribution-API-Version", "registry/2.0");
    if (artifactType != null) {
      r.headers().set("OCI-Filters-Applied", "artifactType");
    }
    if (referrers.stale()) {
      r.headers().set(HttpHeaderNames.WARNING, "110 - \"Response is Stale\"");
      r.headers().set("X-Registry-Proxy-Stale", "true");
    }
    return r;
  }
}
