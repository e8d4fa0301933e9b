package dev.ociproxy.core.registry;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.verify.Refusals;
import dev.ociproxy.core.verify.VerificationException;
import dev.ociproxy.core.verify.VerificationException.Reason;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.function.IntSupplier;
import org.jspecify.annotations.Nullable;

/**
 * What one upstream's pull-through reports: its meters (tagged {@code upstream=<name>}, as in the
 * README's metrics table) and its refusals. The fetchers get this rather than their owner, so they
 * report without calling back into it. Counters appear at their first increment. Thread-safe.
 */
public final class RegistryMeters {
  private final String upstream;
  private final MeterRegistry meters;
  private final Refusals refusals;

  public RegistryMeters(String upstream, MeterRegistry meters) {
    this.upstream = upstream;
    this.meters = meters;
    this.refusals = new Refusals(meters);
  }

  /** The upstream's name, for log lines. */
  String upstream() {
    return upstream;
  }

  /** The refusals recorded lately. */
  Refusals refusals() {
    return refusals;
  }

  /** Reports the fetches of {@code kind} running now; each may feed several clients. */
  void inFlight(String kind, IntSupplier running) {
    Gauge.builder("registry_proxy_downloads_in_flight", running::getAsInt)
        .description("Upstream fetches running now; each may feed several clients")
        .tag("upstream", upstream)
        .tag("kind", kind)
        .register(meters);
  }

  /** A request that joined a fetch already running instead of starting its own. */
  void coalesced(String kind) {
    Counter.builder("registry_proxy_coalesced_requests")
        .description(
            "Requests that joined an upstream fetch already in flight instead of starting another")
        .tag("upstream", upstream)
        .tag("kind", kind)
        .register(meters)
        .increment();
  }

  /** A tag answered from its last verified manifest because the upstream is in trouble. */
  void staleServed() {
    meters.counter("registry_proxy_stale_serves", "upstream", upstream).increment();
  }

  /** Body bytes read from the upstream, verified or not. */
  void received(String kind, long bytes) {
    Counter.builder("registry_proxy_upstream_received_bytes")
        .description("Body bytes read from upstreams for manifests and blobs (verified or not)")
        .baseUnit("bytes")
        .tag("upstream", upstream)
        .tag("kind", kind)
        .register(meters)
        .increment((double) bytes); // exact up to 2^53 bytes
  }

  /**
   * Blob bytes handed out from {@code source}: {@code local} per response from the local tier,
   * {@code store}, {@code peer} (the replica owning the digest) and {@code upstream} per verified
   * download (however many clients it fed).
   */
  void blobBytes(String source, long bytes) {
    Counter.builder("registry_proxy_blob_bytes")
        .description(
            "Verified blob bytes by where they came from: local tier, shared store, peer, upstream")
        .baseUnit("bytes")
        .tag("upstream", upstream)
        .tag("source", source)
        .register(meters)
        .increment((double) bytes);
  }

  /**
   * A cold blob fetch started from {@code source}: {@code peer} (the replica that owns the digest)
   * or {@code upstream}.
   */
  void blobFetch(String source) {
    Counter.builder("registry_proxy_blob_fetches")
        .description(
            "Cold blob fetches started, by source: the owning replica (peer) or the upstream")
        .tag("upstream", upstream)
        .tag("source", source)
        .register(meters)
        .increment();
  }

  /**
   * The owning replica failed: the blob was asked of the upstream. {@code stage} says when: {@code
   * headers} (it could not be reached, was slow or did not answer 200) or {@code body} (its body
   * broke off; the upstream was asked for the rest).
   */
  void peerFallback(String stage) {
    Counter.builder("registry_proxy_peer_fallbacks")
        .description(
            "Cold blobs asked of the upstream because the owning replica failed: before its answer"
                + " (stage=headers) or mid-body (stage=body, the rest asked with a Range)")
        .tag("upstream", upstream)
        .tag("stage", stage)
        .register(meters)
        .increment();
  }

  /**
   * The replica that owns a stale or unknown tag failed, was slow, did not answer 200 or named a
   * manifest that was not what it said: the tag was revalidated with the upstream.
   */
  void tagPeerFallback() {
    Counter.builder("registry_proxy_tag_peer_fallbacks")
        .description(
            "Stale or unknown tags revalidated with the upstream because the replica that owns the"
                + " tag failed, was slow, did not answer 200 or named an unusable manifest")
        .tag("upstream", upstream)
        .register(meters)
        .increment();
  }

  /**
   * A stale or unknown tag resolved from {@code source}: {@code upstream} (this replica asked it, a
   * HEAD or a GET by tag) or {@code peer} (the replica that owns the tag answered).
   */
  void tagRevalidation(String source) {
    Counter.builder("registry_proxy_tag_revalidations")
        .description(
            "Stale or unknown tags resolved, by source: the upstream (asked by this replica) or the"
                + " replica that owns the tag (peer)")
        .tag("upstream", upstream)
        .tag("source", source)
        .register(meters)
        .increment();
  }

  /**
   * A blob HEAD answered with a refusal of that digest moments ago, without asking the upstream.
   */
  void refusalRemembered() {
    Counter.builder("registry_proxy_remembered_refusals")
        .description(
            "Blob HEADs answered with an error because this upstream's content for that digest was"
                + " refused moments ago; the upstream is not asked again")
        .tag("upstream", upstream)
        .register(meters)
        .increment();
  }

  /** Logs and counts a refusal; returns the exception to fail the request with. */
  VerificationException refuse(
      RepositoryName repo,
      String asked,
      @Nullable Digest requested,
      Reason reason,
      @Nullable String arrived) {
    refused(repo, asked, reason, arrived);
    return new VerificationException(reason, requested, arrived);
  }

  /** Logs and counts the refusal a check in {@code verify} threw; returns it to fail with. */
  VerificationException refused(RepositoryName repo, String asked, VerificationException v) {
    refused(repo, asked, v.reason(), v.detail());
    return v;
  }

  /** Logs and counts a refusal found elsewhere (a download's end). */
  void refused(RepositoryName repo, String asked, Reason reason, @Nullable String arrived) {
    refusals.record(upstream, repo.value(), asked, reason, arrived);
  }
}
