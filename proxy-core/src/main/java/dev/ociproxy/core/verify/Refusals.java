package dev.ociproxy.core.verify;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records every refused upstream lie: one WARN line with the details, one counted metric, and the
 * last {@link #KEPT} in memory for the status page. Thread-safe.
 */
public final class Refusals {
  private static final Logger log = LoggerFactory.getLogger(Refusals.class);

  /** Refusals kept for {@link #recent()}; older ones live on in the log and the counter only. */
  public static final int KEPT = 100;

  /** Longest detail kept: what arrived is the upstream's to choose, so its size is ours to cap. */
  static final int MAX_DETAIL_CHARS = 512;

  /** One refusal as the status page shows it. */
  public record Refusal(
      Instant at,
      String upstream,
      String repository,
      String asked,
      String reason,
      @Nullable String arrived) {}

  private final MeterRegistry meters;
  private final ArrayDeque<Refusal> recent = new ArrayDeque<>(); // guarded by itself

  public Refusals(MeterRegistry meters) {
    this.meters = meters;
  }

  /**
   * Logs and counts a refusal. {@code asked} is the digest or tag the client named; {@code arrived}
   * says what the upstream sent instead.
   */
  public void record(
      String upstream,
      String repository,
      String asked,
      VerificationException.Reason reason,
      @Nullable String arrived) {
    // The key-value pairs become fields in JSON logs; the text line carries the same facts.
    log.atWarn()
        .addKeyValue("upstream", upstream)
        .addKeyValue("repository", repository)
        .addKeyValue("asked", asked)
        .addKeyValue("reason", reason.tag())
        .addKeyValue("arrived", arrived)
        .log(
            "refused upstream content: upstream={} repository={} asked={} reason={} arrived={}",
            upstream,
            repository,
            asked,
            reason.tag(),
            arrived);
    Counter.builder("registry_proxy_verification_failures")
        .description("Upstream responses refused because they were not what was asked for")
        .tag("upstream", upstream)
        .tag("reason", reason.tag())
        .register(meters)
        .increment();
    Refusal r =
        new Refusal(
            Instant.now(),
            upstream,
            capped(repository),
            capped(asked),
            reason.tag(),
            arrived == null ? null : capped(arrived));
    synchronized (recent) {
      if (recent.size() == KEPT) {
        recent.removeFirst();
      }
      recent.addLast(r);
    }
  }

  /** The last refusals recorded here, newest first. */
  public List<Refusal> recent() {
    List<Refusal> out;
    synchronized (recent) {
      out = new ArrayList<>(recent);
    }
    java.util.Collections.reverse(out);
    return out;
  }

  private static String capped(String s) {
    return s.length() <= MAX_DETAIL_CHARS ? s : s.substring(0, MAX_DETAIL_CHARS) + "…";
  }
}
