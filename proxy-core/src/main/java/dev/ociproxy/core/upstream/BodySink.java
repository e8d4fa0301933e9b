package dev.ociproxy.core.upstream;

import io.netty.buffer.ByteBuf;

/**
 * Receives a response body chunk by chunk, on the upstream channel's event loop. The next chunk is
 * read only after {@link #onChunk} returns, so a sink that works synchronously is its own
 * backpressure; one that hands chunks on (retained) bounds what it holds with {@link BodyFlow}. The
 * sink does not own the chunk: it is released after {@code onChunk} returns.
 */
public interface BodySink {
  /**
   * Called once, before the first chunk, with a way to pause reading; synchronous sinks ignore it.
   */
  default void onStart(BodyFlow flow) {}

  void onChunk(ByteBuf chunk);

  void onComplete();

  void onError(Throwable cause);
}
