package dev.ociproxy.server.cli;

import dev.ociproxy.core.airgap.ImageRef;
import dev.ociproxy.core.airgap.PinFile;
import dev.ociproxy.core.airgap.Pins;
import dev.ociproxy.core.airgap.Platform;
import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.registry.PullThrough;
import dev.ociproxy.core.registry.Registry;
import dev.ociproxy.core.wiring.Upstreams;
import dev.ociproxy.server.config.ConfigException;
import dev.ociproxy.server.config.ConfigLoader;
import dev.ociproxy.server.config.PinFileFormat;
import dev.ociproxy.server.config.ProxyConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * What a subcommand works with: the proxy's configuration, its cache, and (on demand) the same
 * registries and pins the server builds. The store is not {@code open()}ed: that would delete the
 * temporary files of a proxy serving from the same cache right now.
 */
final class CliContext implements AutoCloseable {
  private final ProxyConfig config;
  private final ContentStore store;
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private @Nullable NioEventLoopGroup group; // with upstreams, on first use
  private @Nullable Upstreams upstreams;

  private CliContext(ProxyConfig config, ContentStore store) {
    this.config = config;
    this.store = store;
  }

  /** Loads {@code configFile} (null: the built-in defaults) and prepares the cache directories. */
  static CliContext load(@Nullable String configFile) throws UsageException {
    ProxyConfig config;
    try {
      ConfigLoader loader = ConfigLoader.withSystemEnv();
      config = configFile == null ? loader.defaults() : loader.load(Path.of(configFile));
    } catch (ConfigException e) {
      throw new UsageException("invalid configuration: " + e.getMessage());
    }
    ContentStore store =
        new ContentStore(
            config.cacheDir(),
            0,
            new io.micrometer.core.instrument.simple.SimpleMeterRegistry(),
            config.directWrites());
    try {
      for (String dir : List.of("blobs", "manifests", "tmp")) {
        Files.createDirectories(store.root().resolve(dir));
      }
    } catch (IOException e) {
      throw new UsageException("cache.dir " + store.root() + ": " + e.getMessage());
    }
    return new CliContext(config, store);
  }

  ProxyConfig config() {
    return config;
  }

  ContentStore store() {
    return store;
  }

  io.micrometer.core.instrument.MeterRegistry meters() {
    return meters;
  }

  List<String> upstreamNames() {
    return config.upstreams().stream().map(ProxyConfig.Upstream::name).toList();
  }

  /** Every upstream's registry, composed exactly as in the server (offline, pins, policy). */
  synchronized Map<String, Registry> registries() throws UsageException {
    return upstreams().registries();
  }

  /**
   * The pull-through of configured upstream {@code name}, for what only the upstream can answer
   * (audit).
   */
  synchronized PullThrough pullThrough(String name) throws UsageException {
    PullThrough p = upstreams().pullThrough(name);
    if (p == null) {
      throw new UsageException("no upstream named " + name + " in the configuration");
    }
    return p;
  }

  /** The server's stack, with the configured fetch limit; the background warm list is left out. */
  private Upstreams upstreams() throws UsageException {
    Upstreams u = upstreams;
    if (u == null) {
      group = new NioEventLoopGroup(2);
      try {
        u =
            Upstreams.wire(
                new Upstreams.Shared(
                    group,
                    NioSocketChannel.class,
                    store,
                    meters,
                    config.limits().maxConcurrentFetches()),
                config.upstreamSpecs(),
                config.airgap().withoutWarm(),
                PinFileFormat::parse,
                config.signatures());
      } catch (IllegalArgumentException e) {
        throw new UsageException(e.getMessage());
      }
      upstreams = u;
    }
    return u;
  }

  /** The pins in force (read from the pin file without starting any mirror). */
  Pins pins() throws UsageException {
    Upstreams u = upstreams;
    if (u != null) {
      return u.airgap().pins();
    }
    Path file = config.airgap().pinsFile();
    if (file == null) {
      return Pins.empty();
    }
    try {
      return PinFile.load(file, PinFileFormat::parse, upstreamNames(), config.defaultUpstream())
          .pins();
    } catch (IllegalArgumentException | UncheckedIOException e) {
      throw new UsageException(e.getMessage());
    }
  }

  List<ImageRef> refs(List<String> args) throws UsageException {
    List<ImageRef> out = new ArrayList<>();
    for (String a : args) {
      try {
        out.add(ImageRef.parse(a, upstreamNames(), config.defaultUpstream()));
      } catch (IllegalArgumentException e) {
        throw new UsageException(e.getMessage());
      }
    }
    return out;
  }

  static Set<Platform> platforms(List<String> args) throws UsageException {
    Set<Platform> out = new LinkedHashSet<>();
    for (String a : args) {
      for (String one : a.split(",", 0)) { // 0: a trailing comma adds no empty platform
        try {
          out.add(Platform.parse(one));
        } catch (IllegalArgumentException e) {
          throw new UsageException(e.getMessage());
        }
      }
    }
    return out;
  }

  @Override
  public void close() {
    Upstreams u = upstreams;
    if (u != null) {
      u.close();
    }
    NioEventLoopGroup g = group;
    if (g != null) {
      g.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
    store.close();
  }
}
