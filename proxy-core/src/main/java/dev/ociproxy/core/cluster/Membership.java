package dev.ociproxy.core.cluster;

import java.io.IOException;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who is in the fleet now: the configured peers, or what the DNS name resolves to on each refresh,
 * plus this replica; of those, the ones that answered their last health check. A refresh replaces
 * the healthy set at once, so replicas join and leave without anyone restarting. A member is
 * healthy only once it has answered: a replica never hands a key to a peer it has not reached.
 * Refreshes run on one thread ({@link Cluster}'s); readers see an immutable snapshot.
 */
public final class Membership {
  private static final Logger log = LoggerFactory.getLogger(Membership.class);

  /** Resolves {@code host:port} to every address's {@code ip:port}. */
  public interface Resolver {
    List<String> resolve(String hostPort) throws IOException;
  }

  /** Whether {@code member} answers a health check (the future may take up to the timeout). */
  public interface Probe {
    CompletableFuture<Boolean> healthy(String member);
  }

  private final ClusterOptions options;
  private final Resolver resolver;
  private final Probe probe;
  private final Duration probeTimeout;
  private volatile Snapshot now;

  /** The members known and the healthy ones (this replica always), sorted. */
  public record Snapshot(List<String> known, List<String> healthy) {
    public Snapshot {
      known = List.copyOf(known);
      healthy = List.copyOf(healthy);
    }
  }

  public Membership(ClusterOptions options, Resolver resolver, Probe probe, Duration probeTimeout) {
    this.options = options;
    this.resolver = resolver;
    this.probe = probe;
    this.probeTimeout = probeTimeout;
    this.now = new Snapshot(List.of(options.advertise()), List.of(options.advertise()));
  }

  /**
   * Resolves {@code host:port} with the JVM's resolver (which honours networkaddress.cache.ttl).
   */
  public static List<String> resolveWithDns(String hostPort) throws IOException {
    int colon = hostPort.lastIndexOf(':');
    String host = hostPort.substring(0, colon);
    String port = hostPort.substring(colon + 1);
    List<String> out = new ArrayList<>();
    for (InetAddress a : InetAddress.getAllByName(host)) {
      String ip = a.getHostAddress();
      out.add((ip.indexOf(':') >= 0 ? "[" + ip + "]" : ip) + ":" + port);
    }
    return out;
  }

  public String self() {
    return options.advertise();
  }

  public Snapshot snapshot() {
    return now;
  }

  /** The healthy member that owns {@code key}; this replica when it is alone. */
  public String ownerOf(String key) {
    String owner = Rendezvous.owner(key, now.healthy());
    return owner != null ? owner : self();
  }

  /** Re-resolves and health-checks every member; blocks up to the probe timeout. */
  public void refresh() {
    TreeSet<String> known = new TreeSet<>(options.peers());
    String dns = options.peersDns();
    if (dns != null) {
      try {
        known.addAll(resolver.resolve(dns));
      } catch (IOException | RuntimeException e) {
        // Keep the members we know: a DNS hiccup must not split the fleet.
        log.warn("cluster.peersDns {} did not resolve: {}", dns, e.toString());
        known.addAll(now.known());
      }
    }
    known.add(self());
    Map<String, CompletableFuture<Boolean>> checks = new LinkedHashMap<>();
    for (String m : known) {
      if (!m.equals(self())) {
        checks.put(m, probe.healthy(m));
      }
    }
    TreeSet<String> healthy = new TreeSet<>();
    healthy.add(self());
    long deadline = System.nanoTime() + probeTimeout.toNanos();
    for (Map.Entry<String, CompletableFuture<Boolean>> c : checks.entrySet()) {
      if (answered(c.getValue(), deadline)) {
        healthy.add(c.getKey());
      }
    }
    Snapshot before = now;
    now = new Snapshot(new ArrayList<>(known), new ArrayList<>(healthy));
    if (!before.healthy().equals(now.healthy())) {
      log.info("cluster members healthy now: {} (of {})", now.healthy(), now.known());
    }
  }

  private static boolean answered(CompletableFuture<Boolean> check, long deadline) {
    try {
      long left = Math.max(0, deadline - System.nanoTime());
      return Boolean.TRUE.equals(check.get(left, TimeUnit.NANOSECONDS));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } catch (Exception e) {
      check.cancel(false);
      return false;
    }
  }

  @Override
  public String toString() {
    Snapshot s = now;
    return "Membership[self=" + self() + ", healthy=" + s.healthy() + ", known=" + s.known() + "]";
  }
}
