package dev.ociproxy.core.verify;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class KnownSizeTest {
  @Test
  void aVerifiedSizeWinsOverADeclaredContentLengthThatDisagrees() {
    assertThat(KnownSize.forHead(1234, 99)).isEqualTo(1234);
    assertThat(KnownSize.forHead(0, 99)).isZero();
  }

  @Test
  void withNothingVerifiedTheDeclaredLengthIsAnsweredOrNoneAtAll() {
    assertThat(KnownSize.forHead(-1, 99)).isEqualTo(99);
    assertThat(KnownSize.forHead(-1, -1)).isEqualTo(-1);
  }
}
