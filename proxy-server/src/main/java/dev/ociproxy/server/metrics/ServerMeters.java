package dev.ociproxy.server.metrics;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.netty4.NettyAllocatorMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.util.internal.PlatformDependent;
import java.time.Duration;

/**
 * Creates the process's one Prometheus registry with the JVM, process and Netty allocator meters
 * bound; the core classes register their own meters on it through the injected {@code
 * MeterRegistry}.
 */
public final class ServerMeters {
  /**
   * Histogram buckets for request and upstream durations: from a cache hit (milliseconds) to a
   * multi-gigabyte layer over a slow link (minutes).
   */
  static final Duration[] DURATION_BUCKETS = {
    Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50),
    Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1),
    Duration.ofMillis(2500), Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(30),
    Duration.ofSeconds(60), Duration.ofSeconds(120), Duration.ofSeconds(300),
  };

  private ServerMeters() {}

  public static PrometheusMeterRegistry create() {
    PrometheusMeterRegistry r = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    new JvmMemoryMetrics().bindTo(r);
    // Listens to GC notifications for the life of the process; never closed on purpose.
    @SuppressWarnings("resource")
    JvmGcMetrics gc = new JvmGcMetrics();
    gc.bindTo(r);
    new JvmThreadMetrics().bindTo(r);
    new ClassLoaderMetrics().bindTo(r);
    new ProcessorMetrics().bindTo(r);
    new UptimeMetrics().bindTo(r);
    new FileDescriptorMetrics().bindTo(r);
    new NettyAllocatorMetrics(PooledByteBufAllocator.DEFAULT).bindTo(r);
    new NettyAllocatorMetrics(UnpooledByteBufAllocator.DEFAULT).bindTo(r);
    Gauge.builder("netty_direct_memory_used_bytes", PlatformDependent::usedDirectMemory)
        .description("Direct memory Netty has allocated outside the JVM heap (-1 when not tracked)")
        .register(r);
    return r;
  }
}
