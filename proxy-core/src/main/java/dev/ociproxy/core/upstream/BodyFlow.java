package dev.ociproxy.core.upstream;

/**
 * Lets a sink that consumes chunks asynchronously (a disk writer) stop the upstream body from being
 * read while it catches up, so what it holds stays bounded. Thread-safe.
 */
public interface BodyFlow {
  /** Stops reading more of the body (on the connection's event loop). */
  void pause();

  /** Reads again; may be called from any thread. A no-op once the body has ended. */
  void resume();
}
