package dev.ociproxy.core.policy;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Counts every policy decision ({@code registry_proxy_policy_decisions_total{upstream, decision,
 * reason}}) and logs each verdict once when it is reached (not when it is reused from memory): an
 * admission with the key that vouched for it, a refusal with its reason. Thread-safe.
 */
final class PolicyDecisions {
  private static final Logger log = LoggerFactory.getLogger(PolicyDecisions.class);

  private final MeterRegistry meters;

  PolicyDecisions(MeterRegistry meters) {
    this.meters = meters;
  }

  void count(String upstream, Verdict v) {
    Counter.builder("registry_proxy_policy_decisions")
        .description("Manifests and blobs admitted or refused by the signature policy")
        .tag("upstream", upstream)
        .tag("decision", v.decision())
        .tag("reason", v.reason().tag())
        .register(meters)
        .increment();
  }

  /** Logs a verdict just reached about {@code asked} (a tag or digest) of {@code upstream/repo}. */
  void reached(
      String upstream, String repository, String asked, String digest, String rule, Verdict v) {
    // The key-value pairs become fields in JSON logs; the text line carries the same facts.
    var line =
        (v.admitted() ? log.atInfo() : log.atWarn())
            .addKeyValue("upstream", upstream)
            .addKeyValue("repository", repository)
            .addKeyValue("asked", asked)
            .addKeyValue("digest", digest)
            .addKeyValue("rule", rule)
            .addKeyValue("decision", v.decision())
            .addKeyValue("reason", v.reason().tag());
    if (v.admitted()) {
      line.addKeyValue("key", v.key())
          .log(
              "policy admitted: upstream={} repository={} asked={} digest={} rule={} reason={} key={} ({})",
              upstream,
              repository,
              asked,
              digest,
              rule,
              v.reason().tag(),
              v.key(),
              v.detail());
    } else {
      line.log(
          "policy refused: upstream={} repository={} asked={} digest={} rule={} reason={}: {}",
          upstream,
          repository,
          asked,
          digest,
          rule,
          v.reason().tag(),
          v.detail());
    }
  }
}
