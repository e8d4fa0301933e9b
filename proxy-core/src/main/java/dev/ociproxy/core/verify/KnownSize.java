package dev.ociproxy.core.verify;

/**
 * Where a {@code Content-Length} an upstream declares meets a size the proxy already knows: the
 * known size decides. A size known from bytes that hashed to the digest is the digest's size, so a
 * declared length that disagrees with it is the upstream's mistake or lie, never news. Stateless.
 */
public final class KnownSize {
  private KnownSize() {}

  /**
   * The size a blob {@code HEAD} answers: the verified size when the proxy holds the blob, else the
   * upstream's declared {@code Content-Length}, unverified (a HEAD may be for gigabytes; the GET
   * that follows is verified), or -1 when it declared none.
   */
  public static long forHead(long verified, long declared) {
    return verified >= 0 ? verified : declared;
  }
}
