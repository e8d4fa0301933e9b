package dev.ociproxy.server.config;

import dev.ociproxy.core.cluster.ClusterOptions;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The {@code cluster} section: how this replica finds the others ({@code peers} or {@code
 * peersDns}), how they reach it ({@code advertise}) and the shared {@code secret}. Absent: the
 * proxy runs alone, exactly as without the feature.
 */
final class ClusterSettings {
  private ClusterSettings() {}

  /** The cluster, or null when {@code cluster} is not given. */
  static @Nullable ClusterOptions parse(
      ConfigFile.@Nullable Cluster c, InetSocketAddress listen, ProxyConfig.Operations operations) {
    if (c == null) {
      return null;
    }
    if (operations.tls() != null) {
      // The peer path would need the listener's certificate to name every replica's address.
      throw new ConfigException(
          "cluster",
          "replicas reach each other over plain HTTP, which a listener with tls does not serve"
              + " (expected no tls: terminate TLS in front of the replicas)");
    }
    if (c.peers() != null && c.peersDns() != null) {
      throw new ConfigException("cluster.peersDns", "give either peers or peersDns, not both");
    }
    if (c.peers() == null && c.peersDns() == null) {
      throw new ConfigException(
          "cluster.peers",
          "missing (expected a list of every replica's host:port, or cluster.peersDns)");
    }
    List<String> peers = new ArrayList<>();
    if (c.peers() != null) {
      if (c.peers().isEmpty()) {
        throw new ConfigException("cluster.peers", "empty (expected every replica's host:port)");
      }
      for (int i = 0; i < c.peers().size(); i++) {
        peers.add(hostPort("cluster.peers[" + i + "]", c.peers().get(i)));
      }
    }
    String dns = c.peersDns() == null ? null : hostPort("cluster.peersDns", c.peersDns());
    String advertise =
        c.advertise() != null ? hostPort("cluster.advertise", c.advertise()) : fromListen(listen);
    String secret = ConfigLoader.required("cluster.secret", c.secret());
    if (secret.length() < ClusterOptions.MIN_SECRET_LENGTH) {
      throw new ConfigException(
          "cluster.secret",
          secret.length()
              + " characters (expected at least "
              + ClusterOptions.MIN_SECRET_LENGTH
              + ", e.g. openssl rand -hex 32)");
    }
    return new ClusterOptions(peers, dns, advertise, secret);
  }

  /** A {@code host:port} with a real port, in the form the other replicas list it. */
  private static String hostPort(String key, String value) {
    InetSocketAddress a;
    try {
      a = ConfigBinding.address(value.trim());
    } catch (IllegalArgumentException e) {
      throw new ConfigException(key, e.getMessage());
    }
    if (a.getPort() == 0 || a.getHostString().isEmpty()) {
      throw new ConfigException(key, "'" + value + "' (expected host:port with a non-zero port)");
    }
    if (isWildcard(a.getHostString())) {
      throw new ConfigException(
          key, "'" + value + "' is a wildcard address, which no replica can reach");
    }
    return value.trim();
  }

  /** {@code listen}, or this host's address with its port when it listens on every address. */
  private static String fromListen(InetSocketAddress listen) {
    String host = listen.getHostString();
    if (!isWildcard(host)) {
      return host + ":" + listen.getPort();
    }
    try {
      return InetAddress.getLocalHost().getHostAddress() + ":" + listen.getPort();
    } catch (UnknownHostException e) {
      throw new ConfigException(
          "cluster.advertise",
          "missing, and listen is a wildcard address and this host's own address is unknown"
              + " (expected host:port)");
    }
  }

  private static boolean isWildcard(String host) {
    return host.equals("0.0.0.0") || host.equals("::") || host.equals("[::]");
  }
}
