package dev.ociproxy.core.verify;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

class RefusalsTest {
  @Test
  void keepsTheLastRefusalsNewestFirst_andCountsEveryOne() {
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    Refusals refusals = new Refusals(meters);

    for (int i = 0; i < Refusals.KEPT + 5; i++) {
      refusals.record(
          "up", "lib/app", "sha256:" + i, VerificationException.Reason.DIGEST_MISMATCH, "got " + i);
    }

    assertThat(refusals.recent()).hasSize(Refusals.KEPT);
    assertThat(refusals.recent().get(0).arrived()).isEqualTo("got " + (Refusals.KEPT + 4));
    assertThat(refusals.recent().get(Refusals.KEPT - 1).arrived()).isEqualTo("got 5");
    assertThat(refusals.recent().get(0).reason()).isEqualTo("digest_mismatch");
    assertThat(meters.get("registry_proxy_verification_failures").counter().count())
        .isEqualTo(Refusals.KEPT + 5);
  }

  @Test
  void whatArrivedIsCappedInMemory_soAnUpstreamCannotFillItWithHugeHeaders() {
    Refusals refusals = new Refusals(new SimpleMeterRegistry());

    refusals.record(
        "up",
        "lib/app",
        "v1",
        VerificationException.Reason.DIGEST_HEADER_MISMATCH,
        "x".repeat(100_000));

    assertThat(refusals.recent().get(0).arrived())
        .hasSize(Refusals.MAX_DETAIL_CHARS + 1)
        .endsWith("…");
  }
}
