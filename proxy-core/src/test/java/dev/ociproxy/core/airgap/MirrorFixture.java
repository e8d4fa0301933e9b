package dev.ociproxy.core.airgap;

import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.registry.Mirror;
import dev.ociproxy.core.registry.MirrorOptions;
import dev.ociproxy.core.upstream.HttpTransport;
import dev.ociproxy.core.upstream.UpstreamClient;
import dev.ociproxy.core.upstream.UpstreamOptions;
import dev.ociproxy.testing.HostileRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** A real {@link Mirror} of a {@link HostileRegistry} upstream, over a store in a temp dir. */
final class MirrorFixture implements AutoCloseable {
  static final String UP = "up.test";

  final HostileRegistry up = HostileRegistry.start();
  final NioEventLoopGroup group = new NioEventLoopGroup(1);
  final HttpTransport transport = new HttpTransport(group, NioSocketChannel.class);
  final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  final ContentStore store;
  final Mirror mirror;
  Airgap airgap;

  MirrorFixture(Path cache, Duration tagTtl) {
    store = new ContentStore(cache).open();
    UpstreamClient client = new UpstreamClient(UpstreamOptions.anonymous(UP, URI.create(up.url())), transport);
    mirror = new Mirror(client, store,
        new MirrorOptions(MirrorOptions.DEFAULT_MANIFEST_MAX_BYTES, tagTtl, Duration.ofSeconds(30)), meters);
  }

  /** Gates the mirror as the server would with these options. */
  Airgap gate(AirgapOptions options) {
    airgap = Airgap.start(options, Map.of(UP, mirror), UP, meters, Images::parseJsonPins);
    return airgap;
  }

  @Override
  public void close() {
    if (airgap != null) {
      airgap.close();
    }
    transport.closeIdle();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    store.close();
    up.close();
  }
}
