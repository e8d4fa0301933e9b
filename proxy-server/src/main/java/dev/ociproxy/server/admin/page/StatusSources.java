package dev.ociproxy.server.admin.page;

import static java.util.Objects.requireNonNull;

import dev.ociproxy.core.airgap.Airgap;
import dev.ociproxy.core.airgap.WarmJobs;
import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.registry.PullThrough;
import dev.ociproxy.core.upstream.UpstreamClient;
import dev.ociproxy.core.upstream.UpstreamStatus;
import dev.ociproxy.core.verify.Refusals;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.List;
import java.util.function.Supplier;

/**
 * Everything the status page reads, handed over once by the server's wiring. The page only reads:
 * nothing here is asked to fetch from an upstream or to change the cache.
 *
 * @param maxSize {@code cache.maxSize} in bytes, 0 for unlimited
 */
public record StatusSources(
    List<Upstream> upstreams,
    ContentStore store,
    long maxSize,
    MeterRegistry meters,
    Airgap airgap,
    WarmJobs warms) {

  /** One configured upstream as the page shows it. */
  public record Upstream(
      String name, String url, Supplier<UpstreamStatus> status, Refusals refusals) {
    public Upstream {
      requireNonNull(name, "name");
      requireNonNull(url, "url");
      requireNonNull(status, "status");
      requireNonNull(refusals, "refusals");
    }

    /** What the page shows of one pull-through: its health and the lies it refused. */
    public static Upstream of(PullThrough p) {
      UpstreamClient c = p.client();
      return new Upstream(p.name(), c.options().url().toString(), c::status, p.refusals());
    }
  }

  public StatusSources {
    upstreams = List.copyOf(upstreams);
    requireNonNull(store, "store");
    requireNonNull(meters, "meters");
    requireNonNull(airgap, "airgap");
    requireNonNull(warms, "warms");
  }
}
