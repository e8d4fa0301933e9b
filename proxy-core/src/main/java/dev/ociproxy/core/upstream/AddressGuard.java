package dev.ociproxy.core.upstream;

import java.net.InetAddress;
import java.util.function.Predicate;

/**
 * Keeps one upstream from sending the proxy (through a redirect or a token realm) to an address
 * inside the network it runs in: loopback, link-local (cloud metadata services), private and
 * unique-local ranges, carrier-grade NAT. Such addresses are reached only at the upstream's own
 * origin or a trusted realm host, or anywhere once the upstream itself proved to be on one (an
 * internal registry redirecting to internal storage). Checked against the address actually
 * connected to, after name resolution, so a name that resolves inward is caught too. Thread-safe.
 */
final class AddressGuard {
  private final Predicate<InetAddress> internal;
  private volatile boolean upstreamInternal;

  AddressGuard() {
    this(AddressGuard::isInternal);
  }

  /** With another idea of "internal" (tests: everything on loopback is one machine). */
  AddressGuard(Predicate<InetAddress> internal) {
    this.internal = internal;
  }

  /** Notes the address a connection to the upstream's own origin reached. */
  void home(InetAddress a) {
    if (internal.test(a)) {
      upstreamInternal = true;
    }
  }

  /** Whether a connection to {@code a}, for a redirect or realm elsewhere, may be used. */
  boolean allows(InetAddress a) {
    return upstreamInternal || !internal.test(a);
  }

  static boolean isInternal(InetAddress a) {
    if (a.isLoopbackAddress()
        || a.isLinkLocalAddress()
        || a.isSiteLocalAddress()
        || a.isAnyLocalAddress()
        || a.isMulticastAddress()) {
      return true;
    }
    byte[] b = a.getAddress();
    if (b.length == 4) {
      return (b[0] & 0xff) == 100 && (b[1] & 0xc0) == 64; // 100.64.0.0/10
    }
    return (b[0] & 0xfe) == 0xfc; // fc00::/7
  }
}
