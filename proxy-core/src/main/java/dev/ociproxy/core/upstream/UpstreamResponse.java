package dev.ociproxy.core.upstream;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * An upstream response whose headers have arrived and whose body has not been read yet. The body
 * must be consumed exactly once: {@link #stream}, {@link #aggregate} or {@link #discard}.
 */
public final class UpstreamResponse {
  private final HttpResponse head;
  private final Exchange exchange;
  private @Nullable URI uri; // set by the client before it hands the response out

  UpstreamResponse(HttpResponse head, Exchange exchange) {
    this.head = head;
    this.exchange = exchange;
  }

  public int status() {
    return head.status().code();
  }

  public HttpHeaders headers() {
    return head.headers();
  }

  /** The URI that produced this response, after redirects. */
  public URI uri() {
    URI u = uri;
    if (u == null) {
      throw new IllegalStateException("response not yet handed out by its client");
    }
    return u;
  }

  void uri(URI u) {
    this.uri = u;
  }

  /** The declared body length, or -1 when the upstream did not say (chunked). */
  public long contentLength() {
    String v = head.headers().get(HttpHeaderNames.CONTENT_LENGTH);
    if (v == null) {
      return -1;
    }
    try {
      return Long.parseLong(v.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** Runs {@code r} once, when the body has been read, has failed or was dropped. */
  void whenEnded(Runnable r) {
    exchange.onLoop(() -> exchange.whenEnded(r));
  }

  /** Streams the body into {@code sink} on the connection's event loop. */
  public void stream(BodySink sink) {
    exchange.onLoop(() -> exchange.stream(sink));
  }

  /**
   * Reads and drops a body we do not need (an error page, a redirect) so the connection can be
   * reused; one over 64 KiB drops the connection instead.
   */
  public void drain() {
    aggregate(64 * 1024).exceptionally(t -> null);
  }

  /** Stops reading the body and drops the connection. */
  public void discard() {
    exchange.onLoop(exchange::abort);
  }

  /**
   * Reads the whole body, refusing (and dropping the connection) as soon as it exceeds {@code
   * maxBytes} — without reading the rest.
   */
  public CompletableFuture<byte[]> aggregate(long maxBytes) {
    CompletableFuture<byte[]> result = new CompletableFuture<>();
    long declared = contentLength();
    if (declared > maxBytes) {
      discard();
      result.completeExceptionally(new BodyTooLargeException(declared, maxBytes));
      return result;
    }
    stream(
        new BodySink() {
          private final ByteArrayOutputStream out =
              new ByteArrayOutputStream((int) Math.max(256, Math.min(declared, maxBytes)));
          private boolean over;

          @Override
          public void onChunk(ByteBuf chunk) {
            if (over) {
              return;
            }
            if (out.size() + (long) chunk.readableBytes() > maxBytes) {
              over = true;
              exchange.abort();
              result.completeExceptionally(new BodyTooLargeException(-1, maxBytes));
              return;
            }
            byte[] bytes = new byte[chunk.readableBytes()];
            chunk.getBytes(chunk.readerIndex(), bytes);
            out.writeBytes(bytes);
          }

          @Override
          public void onComplete() {
            if (!over) {
              result.complete(out.toByteArray());
            }
          }

          @Override
          public void onError(Throwable cause) {
            result.completeExceptionally(cause);
          }
        });
    return result;
  }

  /** A body longer than the caller's cap. */
  public static final class BodyTooLargeException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    BodyTooLargeException(long declared, long max) {
      super(
          (declared >= 0 ? "body of " + declared + " bytes" : "body")
              + " exceeds the limit of "
              + max
              + " bytes");
    }
  }
}
