package dev.ociproxy.server.pipeline;

import dev.ociproxy.core.oci.Digest;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.DefaultFileRegion;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpChunkedInput;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.stream.ChunkedNioFile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.jspecify.annotations.Nullable;

/** Writes blob responses from verified files: zero-copy in plain text, chunked under TLS. */
final class BlobResponses {
  private BlobResponses() {}

  static void blobHeaders(HttpHeaders h, Digest digest) {
    h.set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_OCTET_STREAM);
    h.set("Docker-Content-Digest", digest.toString());
    h.set(HttpHeaderNames.ETAG, "\"" + digest + "\"");
    h.set(HttpHeaderNames.ACCEPT_RANGES, HttpHeaderValues.BYTES);
    h.set("Docker-Distribution-API-Version", "registry/2.0");
  }

  /** The answer to {@code HEAD} of a blob: its headers, and its length when known. */
  static FullHttpResponse head(Digest digest, long size) {
    FullHttpResponse r =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1, HttpResponseStatus.OK, Unpooled.EMPTY_BUFFER);
    blobHeaders(r.headers(), digest);
    if (size >= 0) {
      r.headers().set(HttpHeaderNames.CONTENT_LENGTH, size);
    }
    return r;
  }

  /**
   * Headers for a blob still downloading: its length if the upstream declared one, else chunked.
   */
  static HttpResponse streamingHead(Digest digest, long length) {
    HttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
    blobHeaders(r.headers(), digest);
    if (length >= 0) {
      HttpUtil.setContentLength(r, length);
    } else {
      HttpUtil.setTransferEncodingChunked(r, true);
    }
    return r;
  }

  /**
   * Sends a verified file, or the single range of it the client asked for; returns the last write.
   */
  static ChannelFuture sendFile(
      ChannelHandlerContext ctx,
      Digest digest,
      Path path,
      long size,
      @Nullable String rangeHeader) {
    ByteRange range = ByteRange.parse(rangeHeader, size); // may throw Unsatisfiable (416)
    long offset = range == null ? 0 : range.start();
    long length = range == null ? size : range.length();
    HttpResponse r =
        new DefaultHttpResponse(
            HttpVersion.HTTP_1_1,
            range == null ? HttpResponseStatus.OK : HttpResponseStatus.PARTIAL_CONTENT);
    blobHeaders(r.headers(), digest);
    HttpUtil.setContentLength(r, length);
    if (range != null) {
      r.headers()
          .set(
              HttpHeaderNames.CONTENT_RANGE,
              "bytes " + range.start() + "-" + range.endInclusive() + "/" + size);
    }
    ctx.write(r);
    if (length == 0) {
      return ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
    }
    if (ctx.pipeline().get(SslHandler.class) == null) {
      ctx.write(new DefaultFileRegion(path.toFile(), offset, length));
      return ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
    }
    try {
      FileChannel fc = FileChannel.open(path, StandardOpenOption.READ);
      return ctx.writeAndFlush(
          new HttpChunkedInput(new ChunkedNioFile(fc, offset, length, 64 * 1024)));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
