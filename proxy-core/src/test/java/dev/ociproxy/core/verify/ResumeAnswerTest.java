package dev.ociproxy.core.verify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.verify.VerificationException.Reason;
import org.junit.jupiter.api.Test;

/** The upstream's answer to {@code Range: bytes=N-} for a body that broke off after N bytes. */
class ResumeAnswerTest {
  private static final Digest D = Digest.parse("sha256:" + "ab".repeat(32));

  private static long skip(int status, String contentRange, long length, long offset, long size) {
    return ResumeAnswer.skip(D, status, contentRange, length, offset, size);
  }

  private static void refused(
      Reason reason, int status, String contentRange, long length, long offset, long size) {
    assertThatThrownBy(() -> skip(status, contentRange, length, offset, size))
        .isInstanceOfSatisfying(
            VerificationException.class, v -> assertThat(v.reason()).isEqualTo(reason));
  }

  @Test
  void a206FromTheOffsetToTheLastByteOfTheKnownSizeIsTheRestAsItIs() {
    assertThat(skip(206, "bytes 100-999/1000", 900, 100, 1000)).isZero();
    assertThat(skip(206, "bytes 0-999/1000", 1000, 0, 1000)).isZero();
  }

  @Test
  void withoutAKnownSizeOnlyTheStartIsHeldToTheOffset() {
    assertThat(skip(206, "bytes 100-999/1000", -1, 100, -1)).isZero();
    assertThat(skip(206, "bytes 100-999/*", -1, 100, -1)).isZero();
    refused(Reason.RANGE_MISMATCH, 206, "bytes 101-999/1000", -1, 100, -1);
  }

  @Test
  void a206FromAnotherStartIsRefused() {
    refused(Reason.RANGE_MISMATCH, 206, "bytes 101-999/1000", 899, 100, 1000);
    refused(Reason.RANGE_MISMATCH, 206, "bytes 0-999/1000", 1000, 100, 1000);
  }

  @Test
  void a206ThatDisagreesWithTheKnownSizeIsRefused() {
    refused(Reason.RANGE_MISMATCH, 206, "bytes 100-1999/2000", 1900, 100, 1000);
    refused(Reason.RANGE_MISMATCH, 206, "bytes 100-499/1000", 400, 100, 1000);
    refused(Reason.RANGE_MISMATCH, 206, "bytes 100-999/*", 900, 100, 1000);
  }

  @Test
  void a206WithoutAReadableContentRangeIsRefused() {
    refused(Reason.RANGE_MISMATCH, 206, null, 900, 100, 1000);
    refused(Reason.RANGE_MISMATCH, 206, "bytes=100-999/1000", 900, 100, 1000);
    refused(Reason.RANGE_MISMATCH, 206, "bytes 100-99/1000", 0, 100, -1);
    assertThatThrownBy(() -> skip(206, "items 100-999/1000\r\n" + "x".repeat(500), 900, 100, 1000))
        .hasMessageContaining("for Range bytes=100-")
        .hasMessageNotContaining("x".repeat(100));
  }

  @Test
  void a200IsTheWholeBodyWhoseFirstBytesAreSkipped() {
    assertThat(skip(200, null, 1000, 100, 1000)).isEqualTo(100);
    assertThat(skip(200, null, -1, 100, 1000)).isEqualTo(100);
    assertThat(skip(200, null, 1000, 100, -1)).isEqualTo(100);
    refused(Reason.SIZE_MISMATCH, 200, null, 999, 100, 1000);
  }
}
