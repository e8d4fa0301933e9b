package dev.ociproxy.core.registry;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.verify.VerificationException;
import org.junit.jupiter.api.Test;

class RecentRefusalsTest {
  private static final Digest D = Digest.parse("sha256:" + "a".repeat(64));
  private static final Digest OTHER = Digest.parse("sha256:" + "b".repeat(64));

  @Test
  void aRememberedRefusalIsAnsweredWithItsReasonAndSaysItWasNotAskedAgain() {
    RecentRefusals refusals = new RecentRefusals();
    VerificationException v =
        new VerificationException(
            VerificationException.Reason.DIGEST_HEADER_MISMATCH, D, "HEAD answered with another");

    assertThat(refusals.remember(D, v)).isSameAs(v);
    VerificationException again = refusals.recent(D);

    assertThat(again).isNotNull();
    assertThat(again.reason()).isEqualTo(VerificationException.Reason.DIGEST_HEADER_MISMATCH);
    assertThat(again.getMessage())
        .contains("refused less than 30 s ago, not asked again: ")
        .contains(v.getMessage());
    assertThat(refusals.recent(OTHER)).as("only the refused digest").isNull();
  }

  @Test
  void aVerifiedCopyForgetsTheRefusal() {
    RecentRefusals refusals = new RecentRefusals();
    refusals.remember(
        D, new VerificationException(VerificationException.Reason.DIGEST_MISMATCH, D, "lie"));

    refusals.forget(D);

    assertThat(refusals.recent(D)).isNull();
  }
}
