package dev.ociproxy.core.cache;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The temporary file a download appends its bytes to. Only one thread at a time appends (the
 * download's writer); {@link #durable()} may be read from any thread.
 */
interface BlobFile extends Closeable {

  /** Appends all of {@code src}'s remaining bytes. */
  void append(ByteBuffer src) throws IOException;

  /** Called when no more bytes are queued for now: writes what can be written without the end. */
  void flush() throws IOException;

  /** Writes whatever is still held back; afterwards the file holds exactly the appended bytes. */
  void finish() throws IOException;

  /** Bytes in the file so far, readable through another channel on it. */
  long durable();

  /**
   * Told, from any thread, that bytes arrive faster than this file takes them (the download's queue
   * is full); a file that can write another way may switch to it.
   */
  default void fallingBehind() {}
}
