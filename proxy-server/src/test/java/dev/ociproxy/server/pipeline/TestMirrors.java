package dev.ociproxy.server.pipeline;

import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.registry.MirrorOptions;
import dev.ociproxy.core.registry.PullThrough;
import dev.ociproxy.core.upstream.RequestLimits;
import dev.ociproxy.core.upstream.UpstreamOptions;
import dev.ociproxy.core.wiring.Upstreams;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Upstreams wired as the server wires them ({@link Upstreams}) for router and handler tests, over
 * one event loop this fixture owns. The tests that use it never reach an upstream. Public for the
 * admin tests, which assemble the client pipeline too.
 */
public final class TestMirrors implements AutoCloseable {
  private final NioEventLoopGroup group = new NioEventLoopGroup(1);
  private final ContentStore store;
  private final List<Upstreams> wired = new ArrayList<>();

  public TestMirrors(Path cacheRoot) {
    this.store = new ContentStore(cacheRoot).open();
  }

  /** A plain pull-through upstream named {@code name} at {@code url}, with its own meters. */
  public Upstream upstream(String name, String url) {
    UpstreamOptions options = UpstreamOptions.anonymous(name, URI.create(url));
    Upstreams u =
        Upstreams.wire(
            new Upstreams.Shared(
                group, NioSocketChannel.class, store, new SimpleMeterRegistry(), Integer.MAX_VALUE),
            List.of(
                new Upstreams.Spec(
                    options, MirrorOptions.defaults(), false, RequestLimits.unlimited())));
    wired.add(u);
    return new Upstream(u.registries().get(name), options.isDockerHub());
  }

  /** The pull-through of a plain upstream named {@code name} at {@code url}. */
  public PullThrough pullThrough(String name, String url) {
    Upstreams u =
        Upstreams.wire(
            new Upstreams.Shared(
                group, NioSocketChannel.class, store, new SimpleMeterRegistry(), Integer.MAX_VALUE),
            List.of(
                new Upstreams.Spec(
                    UpstreamOptions.anonymous(name, URI.create(url)),
                    MirrorOptions.defaults(),
                    false,
                    RequestLimits.unlimited())));
    wired.add(u);
    return u.pullThrough(name);
  }

  /** The event loops upstream clients run on. */
  public NioEventLoopGroup group() {
    return group;
  }

  @Override
  public void close() {
    wired.forEach(Upstreams::close);
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    // Waits for the store's queued writes (a referrers list is persisted after it is answered), so
    // none lands in the test's temporary directory while JUnit deletes it.
    store.close();
  }
}
