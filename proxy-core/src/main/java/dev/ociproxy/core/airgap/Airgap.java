package dev.ociproxy.core.airgap;

import static java.util.Objects.requireNonNull;

import dev.ociproxy.core.registry.PullThrough;
import dev.ociproxy.core.registry.Registry;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The air-gap features of a running proxy (or of one command): composes each upstream's {@link
 * Registry} ({@link CachedOnly} when offline, {@link Pinned} when pins or pinned-only apply, the
 * pull-through itself otherwise), re-reads the pin file when it changes, keeps the configured warm
 * list warm, and hands the {@link Warmer} and {@link DriftLog} to whoever serves {@code /admin}.
 * Owns one daemon thread; {@link #close} stops it.
 */
public final class Airgap implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Airgap.class);

  /** How often the pin file is looked at for changes. */
  static final Duration PIN_RELOAD_INTERVAL = Duration.ofSeconds(2);

  /** The origin of background warms, as the status page names it. */
  public static final String CONFIGURED = "configured warm list";

  private final AirgapOptions options;
  private final @Nullable PinFile pinFile;
  private final DriftLog drift;
  private final Map<String, Registry> registries = new LinkedHashMap<>();
  private final Warmer warmer;
  private final WarmJobs warmJobs = new WarmJobs();
  private final ScheduledExecutorService scheduler;

  private Airgap(AirgapOptions options, @Nullable PinFile pinFile, DriftLog drift) {
    this.options = options;
    this.pinFile = pinFile;
    this.drift = drift;
    this.warmer = new Warmer(registries::get, Warmer.DEFAULT_CONCURRENCY);
    this.scheduler =
        Executors.newSingleThreadScheduledExecutor(new DefaultThreadFactory("airgap", true));
  }

  /**
   * What goes on top of an upstream's composition (the signature policy), so that clients, warm and
   * the commands all see it.
   */
  @FunctionalInterface
  public interface Outermost {
    /**
     * @param view the upstream as composed here (offline, pins)
     * @param held the same without pins: the pull-through, or offline the cache alone
     */
    Registry wrap(Registry view, Registry held);
  }

  /** Composes each upstream with nothing on top; see the full form. */
  public static Airgap start(
      AirgapOptions options,
      Map<String, PullThrough> upstreams,
      String defaultUpstream,
      MeterRegistry meters,
      PinFile.Parser pinParser) {
    return start(options, upstreams, defaultUpstream, meters, pinParser, (view, held) -> view);
  }

  /**
   * Reads the pin file, composes each upstream's registry and schedules the pin reload and
   * background warm.
   *
   * @param upstreams every upstream's pull-through by name (all over the same store)
   * @param defaultUpstream the upstream that unprefixed references mean, or null
   * @param outermost what wraps each composition last
   * @throws IllegalArgumentException when the pin file cannot be read or has a bad entry
   */
  public static Airgap start(
      AirgapOptions options,
      Map<String, PullThrough> upstreams,
      @Nullable String defaultUpstream,
      MeterRegistry meters,
      PinFile.Parser pinParser,
      Outermost outermost) {
    requireNonNull(options, "options");
    PinFile pinFile =
        options.pinsFile() == null
            ? null
            : PinFile.load(options.pinsFile(), pinParser, upstreams.keySet(), defaultUpstream);
    Airgap a = new Airgap(options, pinFile, new DriftLog(meters));
    upstreams.forEach(
        (name, pullThrough) -> a.registries.put(name, a.compose(pullThrough, outermost)));
    if (pinFile != null) {
      long every = PIN_RELOAD_INTERVAL.toMillis();
      a.scheduler.scheduleWithFixedDelay(
          pinFile::reloadIfChanged, every, every, TimeUnit.MILLISECONDS);
      log.info("pins: {} pinned tag(s) from {}", pinFile.pins().size(), pinFile.path());
    }
    if (!options.warm().isEmpty()) {
      a.scheduler.scheduleWithFixedDelay(
          a::warmConfiguredNow, 0, options.warmInterval().toMillis(), TimeUnit.MILLISECONDS);
    }
    return a;
  }

  private Registry compose(PullThrough upstream, Outermost outermost) {
    boolean offline = options.isOffline(upstream.name());
    boolean pinnedOnly = options.isPinnedOnly(upstream.name());
    boolean pinned = pinnedOnly || pinFile != null;
    Supplier<Pins> pins = this::pins;
    if (offline) {
      CachedOnly held = new CachedOnly(upstream);
      return outermost.wrap(pinned ? Pinned.offline(held, upstream, pins, pinnedOnly) : held, held);
    }
    return outermost.wrap(
        pinned ? Pinned.online(upstream, pins, pinnedOnly, drift) : upstream, upstream);
  }

  /** Every upstream's registry by name, as clients, warm and the commands must see it. */
  public Map<String, Registry> registries() {
    return Collections.unmodifiableMap(registries); // in configuration order
  }

  /** The pins in force now (empty without a pin file). */
  public Pins pins() {
    return pinFile == null ? Pins.empty() : pinFile.pins();
  }

  public Warmer warmer() {
    return warmer;
  }

  /** The warms of this process (admin and configured), as the status page shows them. */
  public WarmJobs warmJobs() {
    return warmJobs;
  }

  public DriftLog drift() {
    return drift;
  }

  public AirgapOptions options() {
    return options;
  }

  /**
   * Warms the configured list once; each entry with its own platforms, each a job in {@link
   * #warmJobs}.
   */
  public CompletableFuture<List<WarmReport>> warmConfigured() {
    List<CompletableFuture<WarmReport>> runs =
        options.warm().stream().map(this::warmEntry).toList();
    return CompletableFuture.allOf(runs.toArray(CompletableFuture[]::new))
        .thenApply(v -> runs.stream().map(CompletableFuture::join).toList());
  }

  private CompletableFuture<WarmReport> warmEntry(AirgapOptions.WarmEntry e) {
    WarmProgress progress = new WarmProgress();
    WarmJobs.Job job = warmJobs.started(CONFIGURED, List.of(e.ref().toString()), progress);
    return warmer
        .warm(List.of(e.ref()), e.platforms(), e.attached(), progress)
        .whenComplete((report, err) -> warmJobs.finished(job, report, err));
  }

  private void warmConfiguredNow() {
    try {
      for (WarmReport r : warmConfigured().join()) {
        for (WarmReport.Item i : r.items()) {
          if (i.ok()) {
            log.info(
                "background warm: {} -> {} ({} blob(s) fetched, {} already cached)",
                i.ref(),
                i.digest(),
                i.blobsFetched(),
                i.blobsCached());
          } else {
            log.warn("background warm: {} failed: {}", i.ref(), String.join("; ", i.problems()));
          }
        }
      }
    } catch (RuntimeException e) {
      log.warn("background warm failed: {}", e.toString());
    }
  }

  @Override
  public void close() {
    scheduler.shutdownNow();
  }
}
