package dev.ociproxy.server.pipeline;

import dev.ociproxy.core.registry.Manifest;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;

/** Renders a verified manifest, from the cache or just fetched, as the client's answer. */
final class ManifestResponses {
  private ManifestResponses() {}

  /** The manifest with its type, digest and length; without the body for HEAD; marked when stale. */
  static FullHttpResponse of(Manifest m, boolean head) {
    FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
        head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(m.body()));
    r.headers().set(HttpHeaderNames.CONTENT_TYPE, m.mediaType());
    r.headers().set(HttpHeaderNames.CONTENT_LENGTH, m.body().length);
    r.headers().set("Docker-Content-Digest", m.digest().toString());
    r.headers().set(HttpHeaderNames.ETAG, "\"" + m.digest() + "\"");
    r.headers().set("Docker-Distribution-API-Version", "registry/2.0");
    if (m.stale()) {
      r.headers().set(HttpHeaderNames.WARNING, "110 - \"Response is Stale\"");
      r.headers().set("X-Registry-Proxy-Stale", "true");
    }
    return r;
  }

  /** Where the manifest came from, as the access log and metrics name it: hit, stale or miss. */
  static String cacheOutcome(Manifest m) {
    return m.fromCache() ? (m.stale() ? "stale" : "hit") : "miss";
  }
}
