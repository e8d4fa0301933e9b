package dev.ociproxy.core.verify;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Records every refused upstream lie: one WARN line with the details and one counted metric. */
public final class Refusals {
  private static final Logger log = LoggerFactory.getLogger(Refusals.class);

  private final MeterRegistry meters;

  public Refusals(MeterRegistry meters) {
    this.meters = meters;
  }

  /**
   * Logs and counts a refusal. {@code asked} is the digest or tag the client named; {@code arrived}
   * says what the upstream sent instead.
   */
  public void record(
      String upstream, String repository, String asked, VerificationException.Reason reason,
      String arrived) {
    // The key-value pairs become fields in JSON logs; the text line carries the same facts.
    log.atWarn()
        .addKeyValue("upstream", upstream)
        .addKeyValue("repository", repository)
        .addKeyValue("asked", asked)
        .addKeyValue("reason", reason.tag())
        .addKeyValue("arrived", arrived)
        .log("refused upstream content: upstream={} repository={} asked={} reason={} arrived={}",
            upstream, repository, asked, reason.tag(), arrived);
    Counter.builder("registry_proxy_verification_failures")
        .description("Upstream responses refused because they were not what was asked for")
        .tag("upstream", upstream)
        .tag("reason", reason.tag())
        .register(meters)
        .increment();
  }
}
