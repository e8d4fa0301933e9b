package dev.ociproxy.core.airgap;

import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.oci.MediaTypes;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.registry.Manifest;
import dev.ociproxy.core.registry.MirrorOptions;
import dev.ociproxy.core.registry.Registry;
import dev.ociproxy.core.upstream.RequestLimits;
import dev.ociproxy.core.upstream.UpstreamOptions;
import dev.ociproxy.core.wiring.Upstreams;
import dev.ociproxy.testing.HostileRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * One upstream ({@link HostileRegistry}) wired as the server wires it ({@link Upstreams}), over a
 * store in a temp dir.
 */
final class MirrorFixture implements AutoCloseable {
  static final String UP = "up.test";

  final HostileRegistry up = HostileRegistry.start();
  final NioEventLoopGroup group = new NioEventLoopGroup(1);
  final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  final ContentStore store;
  private final Upstreams.Spec spec;
  private Upstreams upstreams;
  Airgap airgap;

  MirrorFixture(Path cache, Duration tagTtl) {
    store = new ContentStore(cache).open();
    spec =
        new Upstreams.Spec(
            UpstreamOptions.anonymous(UP, URI.create(up.url())),
            new MirrorOptions(
                MirrorOptions.DEFAULT_MANIFEST_MAX_BYTES, tagTtl, Duration.ofSeconds(30)),
            true,
            RequestLimits.unlimited());
  }

  /** Wires the upstream with these air-gap options; at most once, before the first request. */
  Airgap gate(AirgapOptions options) {
    if (upstreams != null) {
      throw new IllegalStateException("already wired: gate before the first request");
    }
    upstreams =
        Upstreams.wire(
            new Upstreams.Shared(group, NioSocketChannel.class, store, meters, Integer.MAX_VALUE),
            List.of(spec),
            options,
            Images::parseJsonPins);
    airgap = upstreams.airgap();
    return airgap;
  }

  /** What clients of the upstream see (wired without air-gap rules unless {@link #gate}d first). */
  Registry registry() {
    if (upstreams == null) {
      gate(AirgapOptions.none());
    }
    return upstreams.registries().get(UP);
  }

  /** {@code repo:tag} as clients of the upstream get it. */
  Manifest manifest(RepositoryName repo, String tag) throws Exception {
    return get(registry().manifest(repo, new Tag(tag), MediaTypes.ALL_MANIFESTS));
  }

  /** The registry for an upstream name, as {@link Warmer} looks it up; null for other names. */
  Registry registry(String name) {
    return UP.equals(name) ? registry() : null;
  }

  @Override
  public void close() {
    if (upstreams != null) {
      upstreams.close();
    }
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    store.close();
    up.close();
  }

  /** Air-gap options with no warm list. */
  static AirgapOptions options(Set<String> offline, Set<String> pinnedOnly, Path pins) {
    return new AirgapOptions(
        offline, pinnedOnly, pins, List.of(), AirgapOptions.DEFAULT_WARM_INTERVAL);
  }

  /** A JSON pin file in {@code dir}. */
  static Path pinFile(Path dir, String json) throws IOException {
    return Files.writeString(dir.resolve("pins.json"), json);
  }

  static <T> T get(CompletableFuture<T> f) throws Exception {
    return f.get(30, TimeUnit.SECONDS);
  }

  /** The registry error {@code f} failed with. */
  static RegistryException failure(CompletableFuture<?> f) {
    try {
      f.get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      return (RegistryException) e.getCause();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    throw new AssertionError("expected a failure");
  }
}
