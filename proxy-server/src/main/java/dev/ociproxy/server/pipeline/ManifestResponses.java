package dev.ociproxy.server.pipeline;

import dev.ociproxy.core.registry.Manifest;
import dev.ociproxy.core.registry.ManifestHead;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;

/** Renders a verified manifest, from the cache or just fetched, as the client's answer. */
final class ManifestResponses {
  private ManifestResponses() {}

  /**
   * The manifest with its type, digest and length; without the body for HEAD; marked when stale.
   */
  static FullHttpResponse of(Manifest m, boolean head) {
    return response(
        ManifestHead.of(m), head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(m.body()));
  }

  /** The answer to a HEAD of a manifest (its headers only). */
  static FullHttpResponse head(ManifestHead m) {
    return response(m, Unpooled.EMPTY_BUFFER);
  }

  private static FullHttpResponse response(ManifestHead m, ByteBuf body) {
    FullHttpResponse r =
        new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, body);
    r.headers().set(HttpHeaderNames.CONTENT_TYPE, m.mediaType());
    r.headers().set(HttpHeaderNames.CONTENT_LENGTH, m.length());
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
    return cacheOutcome(ManifestHead.of(m));
  }

  static String cacheOutcome(ManifestHead m) {
    return m.fromCache() ? (m.stale() ? "stale" : "hit") : "miss";
  }
}
