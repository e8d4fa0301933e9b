package dev.ociproxy.it.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;

/** Free TCP ports on the loopback interface for the processes the harness starts. */
public final class Ports {

  private Ports() {}

  /**
   * Returns a port that was free on 127.0.0.1 a moment ago.
   *
   * <p>Another process may take it before ours binds (the machine is shared), so starters that bind
   * a fresh port retry with a new one when the process dies with "address already in use".
   */
  public static int free() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      socket.setReuseAddress(true);
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("no free loopback port", e);
    }
  }
}
