package dev.ociproxy.core.cluster;

import static java.nio.charset.StandardCharsets.UTF_8;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.upstream.HttpTransport;
import dev.ociproxy.core.upstream.PeerHttp;
import dev.ociproxy.core.upstream.UpstreamResponse;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import java.net.URI;
import java.net.URLEncoder;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * This replica's place in the fleet: keeps the {@link Membership} fresh on its own thread and asks
 * the owner of a digest over the peer path, {@code GET /_peer/v2/<upstream>/<repo>/blobs/<digest>},
 * and the owner of a tag what it names, {@code GET
 * /_peer/v2/<upstream>/<repo>/manifests/<tag>[?accept=<types>]}, each with a {@link PeerAuth}
 * header signed for the member asked (the MAC covers the query too). {@code GET /_peer/ping} is the
 * health check. Thread-safe.
 */
public final class Cluster implements Peers, AutoCloseable {
  /** Where the peer path starts on every replica's listener. */
  public static final String PATH = "/_peer/";

  public static final String PING = PATH + "ping";

  /** The query parameter of a tag question that carries the client's Accept list. */
  public static final String ACCEPT = "accept";

  private final Membership membership;
  private final PeerHttp http;
  private final PeerAuth auth;
  private final ScheduledExecutorService refresher;

  private Cluster(ClusterOptions options, PeerHttp http, Membership.Resolver resolver) {
    this.http = http;
    this.auth = new PeerAuth(options.secret(), options.advertise());
    this.membership =
        new Membership(
            options, resolver, this::ping, ClusterOptions.PEER_CONNECT_TIMEOUT.multipliedBy(2));
    this.refresher =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "cluster-membership");
              t.setDaemon(true);
              return t;
            });
  }

  /** Starts refreshing the membership every {@code options.checkInterval()}. */
  public static Cluster start(
      ClusterOptions options,
      EventLoopGroup loops,
      Class<? extends Channel> channelType,
      MeterRegistry meters) {
    PeerHttp http =
        new PeerHttp(
            new HttpTransport(loops, channelType),
            meters,
            ClusterOptions.PEER_CONNECT_TIMEOUT,
            ClusterOptions.PEER_FIRST_BYTE_TIMEOUT,
            ClusterOptions.PEER_READ_TIMEOUT);
    Cluster c = new Cluster(options, http, Membership::resolveWithDns);
    Gauge.builder(
            "registry_proxy_cluster_members", c, x -> x.membership.snapshot().healthy().size())
        .description("Replicas that answered their last health check, this one included")
        .tag("state", "healthy")
        .register(meters);
    Gauge.builder("registry_proxy_cluster_members", c, x -> x.membership.snapshot().known().size())
        .description("Replicas that answered their last health check, this one included")
        .tag("state", "known")
        .register(meters);
    long every = options.checkInterval().toMillis();
    c.refresher.scheduleWithFixedDelay(c.membership::refresh, 0, every, TimeUnit.MILLISECONDS);
    return c;
  }

  public Membership membership() {
    return membership;
  }

  /**
   * Whether a request to the peer path carries a valid MAC of {@code method} and {@code target},
   * signed for this replica and not seen before.
   */
  public boolean authenticates(String method, String target, @Nullable String header) {
    return auth.verify(method, target, header, nowSeconds());
  }

  @Override
  public @Nullable CompletableFuture<UpstreamResponse> askOwner(
      String upstream, RepositoryName repo, Digest digest) {
    String owner = membership.ownerOf(digest.toString());
    if (owner.equals(membership.self())) {
      return null;
    }
    String target = PATH + "v2/" + upstream + "/" + repo.value() + "/blobs/" + digest;
    return send(owner, target);
  }

  @Override
  public @Nullable String tagOwner(String upstream, RepositoryName repo, Tag tag) {
    String owner = membership.ownerOf(Rendezvous.tagKey(upstream, repo.value(), tag.value()));
    return owner.equals(membership.self()) ? null : owner;
  }

  @Override
  public CompletableFuture<UpstreamResponse> askTag(
      String owner, String upstream, RepositoryName repo, Tag tag, List<String> accept) {
    return send(owner, tagTarget(upstream, repo, tag, accept));
  }

  /** The peer path of a tag question; the client's Accept list travels in the (MAC'd) query. */
  public static String tagTarget(
      String upstream, RepositoryName repo, Tag tag, List<String> accept) {
    String target = PATH + "v2/" + upstream + "/" + repo.value() + "/manifests/" + tag.value();
    return accept.isEmpty()
        ? target
        : target + "?" + ACCEPT + "=" + URLEncoder.encode(String.join(",", accept), UTF_8);
  }

  private CompletableFuture<Boolean> ping(String member) {
    return send(member, PING)
        .thenApply(
            r -> {
              r.drain();
              return r.status() == 200;
            });
  }

  private CompletableFuture<UpstreamResponse> send(String member, String target) {
    HttpHeaders h = new DefaultHttpHeaders();
    h.set(HttpHeaderNames.USER_AGENT, "registry-proxy-peer");
    h.set(PeerAuth.HEADER, auth.sign(member, "GET", target, nowSeconds()));
    return http.get(URI.create("http://" + member + target), h);
  }

  private static long nowSeconds() {
    return System.currentTimeMillis() / 1000;
  }

  @Override
  public void close() {
    refresher.shutdownNow();
    http.closeIdle();
  }
}
