package dev.ociproxy.core.wiring;

import static java.util.Objects.requireNonNull;

import dev.ociproxy.core.airgap.Airgap;
import dev.ociproxy.core.airgap.AirgapOptions;
import dev.ociproxy.core.airgap.PinFile;
import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.cluster.Peers;
import dev.ociproxy.core.policy.SignaturePolicy;
import dev.ociproxy.core.policy.SignedOnly;
import dev.ociproxy.core.registry.FetchLimiter;
import dev.ociproxy.core.registry.MirrorOptions;
import dev.ociproxy.core.registry.PullThrough;
import dev.ociproxy.core.registry.Registry;
import dev.ociproxy.core.shared.SharedStore;
import dev.ociproxy.core.upstream.HttpTransport;
import dev.ociproxy.core.upstream.RequestLimits;
import dev.ociproxy.core.upstream.UpstreamClient;
import dev.ociproxy.core.upstream.UpstreamOptions;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Every configured upstream's stack, wired in one place: an {@link UpstreamClient} over one shared
 * transport, its {@link PullThrough} over the shared store, meters and fetch limit, and the
 * air-gap's composition on top ({@link Airgap}: offline, pins), and the signature policy on top of
 * that ({@link SignedOnly}). The server, every command and the test fixtures build their upstreams
 * here, so no two of them can differ. Closing stops the air-gap's thread and the idle upstream
 * connections; the store and the event loops stay the caller's.
 */
public final class Upstreams implements AutoCloseable {
  /**
   * One upstream: how to reach it, how to cache it, whether unprefixed names mean it, and how many
   * requests it may be sent.
   */
  public record Spec(
      UpstreamOptions options,
      MirrorOptions caching,
      boolean isDefault,
      RequestLimits requestLimits) {
    public String name() {
      return options.name();
    }
  }

  /**
   * What every upstream shares.
   *
   * @param loops the event loops the upstream connections run on
   * @param channelType the socket channel for {@code loops} (epoll or NIO)
   * @param maxConcurrentFetches upstream fetches at once across all upstreams; beyond it a 503
   * @param sharedStore the store all replicas share ({@code storage.s3}), or null for none: what is
   *     verified here is copied there, and a local miss looks there before the upstream
   * @param peers the other replicas, asked for cold blobs they own ({@link Peers#NONE}: alone)
   */
  public record Shared(
      EventLoopGroup loops,
      Class<? extends Channel> channelType,
      ContentStore store,
      MeterRegistry meters,
      int maxConcurrentFetches,
      @Nullable SharedStore sharedStore,
      Peers peers) {
    /** Without peers: the only replica fetching from the upstreams. */
    public Shared(
        EventLoopGroup loops,
        Class<? extends Channel> channelType,
        ContentStore store,
        MeterRegistry meters,
        int maxConcurrentFetches,
        @Nullable SharedStore sharedStore) {
      this(loops, channelType, store, meters, maxConcurrentFetches, sharedStore, Peers.NONE);
    }

    /** Without a shared store: a replica of its own. */
    public Shared(
        EventLoopGroup loops,
        Class<? extends Channel> channelType,
        ContentStore store,
        MeterRegistry meters,
        int maxConcurrentFetches) {
      this(loops, channelType, store, meters, maxConcurrentFetches, null);
    }
  }

  private final HttpTransport transport;
  private final Map<String, PullThrough> pullThroughs;
  private final Airgap airgap;

  private Upstreams(HttpTransport transport, Map<String, PullThrough> pullThroughs, Airgap airgap) {
    this.transport = transport;
    this.pullThroughs = pullThroughs;
    this.airgap = airgap;
  }

  /** Plain pull-through upstreams, no air-gap rules. */
  public static Upstreams wire(Shared shared, List<Spec> specs) {
    return wire(shared, specs, AirgapOptions.none(), content -> Map.of());
  }

  /**
   * Builds every upstream's stack and composes it with the air-gap rules.
   *
   * @throws IllegalArgumentException when the pin file cannot be read or has a bad entry
   */
  public static Upstreams wire(
      Shared shared, List<Spec> specs, AirgapOptions airgap, PinFile.Parser pinParser) {
    return wire(shared, specs, airgap, pinParser, null);
  }

  /**
   * Builds every upstream's stack, composes it with the air-gap rules, and puts the signature
   * policy on top of each upstream it covers ({@link SignedOnly}).
   *
   * @param signatures the signature policy, or null for none
   * @throws IllegalArgumentException when the pin file cannot be read or has a bad entry
   */
  public static Upstreams wire(
      Shared shared,
      List<Spec> specs,
      AirgapOptions airgap,
      PinFile.Parser pinParser,
      @Nullable SignaturePolicy signatures) {
    requireNonNull(shared, "shared");
    HttpTransport transport = new HttpTransport(shared.loops(), shared.channelType());
    FetchLimiter limiter = new FetchLimiter(shared.maxConcurrentFetches());
    SharedStore sharedStore = shared.sharedStore();
    if (sharedStore != null) {
      shared.store().mirrorTo(sharedStore);
    }
    Map<String, PullThrough> pullThroughs = new LinkedHashMap<>();
    String defaultUpstream = null;
    for (Spec s : specs) {
      UpstreamClient client =
          new UpstreamClient(s.options(), transport, shared.meters(), s.requestLimits());
      pullThroughs.put(
          s.name(),
          new PullThrough(
              client,
              shared.store(),
              s.caching(),
              shared.meters(),
              limiter,
              shared.sharedStore(),
              shared.peers()));
      if (defaultUpstream == null && s.isDefault()) {
        defaultUpstream = s.name();
      }
    }
    try {
      Airgap.Outermost policy =
          (view, held) ->
              signatures == null || signatures.leavesOpen(view.name())
                  ? view
                  : new SignedOnly(
                      view,
                      held,
                      signatures,
                      // Airgap builds each view over one of these pull-throughs, by name.
                      requireNonNull(pullThroughs.get(view.name()), view.name()).options().tagTtl(),
                      shared.meters());
      Airgap started =
          Airgap.start(airgap, pullThroughs, defaultUpstream, shared.meters(), pinParser, policy);
      return new Upstreams(transport, Collections.unmodifiableMap(pullThroughs), started);
    } catch (RuntimeException e) {
      transport.closeIdle();
      throw e;
    }
  }

  /** Every upstream's registry by name, in configuration order, as clients must see it. */
  public Map<String, Registry> registries() {
    return airgap.registries();
  }

  /**
   * The pull-through of upstream {@code name}, for what only the upstream can answer; null if none.
   */
  public @Nullable PullThrough pullThrough(String name) {
    return pullThroughs.get(name);
  }

  /** Every upstream's pull-through, in configuration order. */
  public Collection<PullThrough> pullThroughs() {
    return pullThroughs.values();
  }

  /** Warm, pins and drift over these upstreams. */
  public Airgap airgap() {
    return airgap;
  }

  @Override
  public void close() {
    airgap.close();
    transport.closeIdle();
  }
}
