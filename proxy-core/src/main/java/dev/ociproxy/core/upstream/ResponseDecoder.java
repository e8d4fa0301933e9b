package dev.ociproxy.core.upstream;

import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseDecoder;

/**
 * Decodes upstream responses (in place of {@code HttpClientCodec}'s decoder) and tells its {@link
 * ExchangeHandler} what it needs to decide whether the connection may be reused: whether bytes
 * beyond the last response are held, and whether a response carried both {@code Content-Length} and
 * {@code Transfer-Encoding}. Netty drops the {@code Content-Length} of such a response before
 * anyone sees it, so only the decoder can tell. Event-loop confined.
 */
final class ResponseDecoder extends HttpResponseDecoder {
  private HttpMethod method = HttpMethod.GET;
  private boolean bothLengths;

  ResponseDecoder() {
    super(8192, 65536, 1024 * 1024);
  }

  /** The method of the request whose response comes next: a HEAD response has no body. */
  void expect(HttpMethod m) {
    this.method = m;
    this.bothLengths = false;
  }

  /** True when the last response announced both Content-Length and chunked; clears the flag. */
  boolean tookBothLengths() {
    boolean b = bothLengths;
    bothLengths = false;
    return b;
  }

  /** True when bytes beyond the last decoded message are held: a partial next response. */
  boolean holdsBytes() {
    return actualReadableBytes() > 0;
  }

  @Override
  protected boolean isContentAlwaysEmpty(HttpMessage msg) {
    return HttpMethod.HEAD.equals(method) || super.isContentAlwaysEmpty(msg);
  }

  @Override
  protected void handleTransferEncodingChunkedWithContentLength(HttpMessage message) {
    bothLengths = true;
    super.handleTransferEncodingChunkedWithContentLength(message);
  }
}
