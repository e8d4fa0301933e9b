package dev.ociproxy.core.shared;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** What the shared tier reports: its refusals, its failures and what it uploaded. */
final class SharedMeters {
  private static final Logger log = LoggerFactory.getLogger(SharedStore.class);

  private final MeterRegistry meters;

  SharedMeters(MeterRegistry meters) {
    this.meters = meters;
  }

  /**
   * Content, or a metadata record (link, served mark, tag), read back that did not verify: one line
   * naming the object, and a count.
   */
  void refused(String kind, String object, String why) {
    Counter.builder("registry_proxy_shared_store_refusals")
        .description(
            "Content or metadata read from the shared store that did not verify (not served whole,"
                + " not kept; a record without a valid MAC is taken as absent)")
        .tag("kind", kind)
        .register(meters)
        .increment();
    log.warn("shared store: refused {} {}: {}", kind, object, why);
  }

  /** A store call that failed; the request goes on without the store. */
  void failed(String op, String object, Exception e) {
    Counter.builder("registry_proxy_shared_store_errors")
        .description("Shared store calls that failed (unreachable, refused, timed out)")
        .tag("op", op)
        .register(meters)
        .increment();
    log.warn("shared store: {} {} failed: {}", op, object, e.getMessage());
  }

  void uploaded(long bytes) {
    Counter.builder("registry_proxy_shared_store_uploaded_bytes")
        .description("Verified blob bytes uploaded to the shared store")
        .baseUnit("bytes")
        .register(meters)
        .increment((double) bytes);
  }
}
