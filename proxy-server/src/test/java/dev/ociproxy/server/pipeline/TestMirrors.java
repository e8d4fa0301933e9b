package dev.ociproxy.server.pipeline;

import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.registry.MirrorOptions;
import dev.ociproxy.core.registry.PullThrough;
import dev.ociproxy.core.upstream.HttpTransport;
import dev.ociproxy.core.upstream.UpstreamClient;
import dev.ociproxy.core.upstream.UpstreamOptions;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.net.URI;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Real {@link PullThrough}s for router and handler tests, over one event loop this fixture owns. The
 * tests that use it never reach an upstream. Public for the admin tests, which assemble the
 * client pipeline too.
 */
public final class TestMirrors implements AutoCloseable {
  private final NioEventLoopGroup group = new NioEventLoopGroup(1);
  private final HttpTransport transport = new HttpTransport(group, NioSocketChannel.class);
  private final ContentStore store;

  public TestMirrors(Path cacheRoot) {
    this.store = new ContentStore(cacheRoot).open();
  }

  public Upstream upstream(String name, String url) {
    UpstreamOptions options = UpstreamOptions.anonymous(name, URI.create(url));
    PullThrough registry = new PullThrough(
        new UpstreamClient(options, transport), store, MirrorOptions.defaults(), new SimpleMeterRegistry());
    return new Upstream(registry, options.isDockerHub());
  }

  @Override
  public void close() {
    transport.closeIdle();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }
}
