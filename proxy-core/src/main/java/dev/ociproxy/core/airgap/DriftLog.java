package dev.ociproxy.core.airgap;

import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.ManifestDocument;
import dev.ociproxy.core.oci.MediaTypes;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.registry.PullThrough;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pinned tags whose upstream tag now points elsewhere. The proxy keeps serving the pin; this only
 * reports: a WARN line when a tag starts drifting (or drifts somewhere new), an INFO line when it
 * is back in line, the counter {@code registry_proxy_pin_drift} per observation and the gauge
 * {@code registry_proxy_pins_drifted}. {@link #current()} is what {@code GET /admin/drift} shows.
 * Thread-safe.
 */
public final class DriftLog {
  private static final Logger log = LoggerFactory.getLogger(DriftLog.class);

  /** Pinned tags are looked at upstream at most this often even when the tag TTL is shorter. */
  private static final Duration MIN_CHECK_INTERVAL = Duration.ofSeconds(1);

  /** A pinned tag whose upstream tag has moved. */
  public record Drift(
      Pins.Key tag, Digest pinned, Digest upstream, Instant since, Instant lastChecked) {}

  private final MeterRegistry meters;
  private final Map<Pins.Key, Drift> drifts = new ConcurrentHashMap<>();
  private final Map<Pins.Key, Long> lastCheck = new ConcurrentHashMap<>();
  private final Set<Pins.Key> checking = ConcurrentHashMap.newKeySet();

  public DriftLog(MeterRegistry meters) {
    this.meters = meters;
    Gauge.builder("registry_proxy_pins_drifted", drifts, Map::size)
        .description("Pinned tags whose upstream tag points at another digest than the pin")
        .register(meters);
  }

  /** The drifting tags now, in name order. */
  public List<Drift> current() {
    return drifts.values().stream().sorted(Comparator.comparing(d -> d.tag().toString())).toList();
  }

  /**
   * Looks at the upstream's tag in the background, at most once per the mirror's tag TTL per tag
   * and never twice at once; returns at once.
   */
  void check(PullThrough mirror, RepositoryName repo, Tag tag, Digest pin) {
    Pins.Key key = new Pins.Key(mirror.name(), repo, tag);
    long now = System.currentTimeMillis();
    long every = Math.max(MIN_CHECK_INTERVAL.toMillis(), mirror.options().tagTtl().toMillis());
    Long last = lastCheck.get(key);
    if ((last != null && now - last < every) || !checking.add(key)) {
      return;
    }
    lastCheck.put(key, now);
    mirror
        .upstreamDigest(repo, tag, acceptFor(mirror.store(), pin))
        .whenComplete(
            (upstream, err) -> {
              checking.remove(key);
              if (err != null) {
                log.debug("could not check pinned {} upstream: {}", key, ImageGraph.describe(err));
              } else {
                observe(key, pin, upstream);
              }
            });
  }

  /** Records what the upstream's tag points at now; public for the audit command. */
  public void observe(Pins.Key key, Digest pinned, Digest upstream) {
    Instant now = Instant.now();
    if (pinned.equals(upstream)) {
      if (drifts.remove(key) != null) {
        log.info("pin drift over: upstream {} points at the pinned {} again", key, pinned);
      }
      return;
    }
    Counter.builder("registry_proxy_pin_drift")
        .description("Observations of a pinned tag that the upstream has moved away from its pin")
        .tag("upstream", key.upstream())
        .register(meters)
        .increment();
    Drift before = drifts.get(key);
    Instant since = before != null && before.upstream().equals(upstream) ? before.since() : now;
    drifts.put(key, new Drift(key, pinned, upstream, since, now));
    if (before == null || !before.upstream().equals(upstream)) {
      log.warn(
          "pin drift: {} is pinned to {} but the upstream now points it at {}; serving the pin",
          key,
          pinned,
          upstream);
    }
  }

  /**
   * What to ask the upstream for when comparing with {@code pin}: an image manifest pin is compared
   * with the single manifest the upstream serves to clients that take no index, anything else with
   * what it serves to clients that take everything.
   */
  public static List<String> acceptFor(ContentStore store, Digest pin) {
    byte[] body = store.readManifest(pin);
    if (body != null) {
      try {
        if (!ManifestDocument.parse(body, null).isIndex()) {
          return List.of(MediaTypes.OCI_MANIFEST, MediaTypes.DOCKER_MANIFEST);
        }
      } catch (RegistryException e) {
        // Fall through: ask for everything.
      }
    }
    return MediaTypes.ALL_MANIFESTS;
  }
}
