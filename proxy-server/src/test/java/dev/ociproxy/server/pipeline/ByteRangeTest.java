package dev.ociproxy.server.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullSource;
import org.junit.jupiter.params.provider.ValueSource;

class ByteRangeTest {

  @Test
  void closedRangeIsInclusiveAtBothEnds() {
    ByteRange r = ByteRange.parse("bytes=0-9", 100);

    assertThat(r).isEqualTo(new ByteRange(0, 9));
    assertThat(r.length()).isEqualTo(10);
  }

  @Test
  void singleByteRange() {
    assertThat(ByteRange.parse("bytes=5-5", 100).length()).isEqualTo(1);
  }

  @Test
  void openEndedRangeRunsToTheLastByte() {
    assertThat(ByteRange.parse("bytes=10-", 100)).isEqualTo(new ByteRange(10, 99));
  }

  @Test
  void suffixRangeIsTheLastNBytes() {
    assertThat(ByteRange.parse("bytes=-10", 100)).isEqualTo(new ByteRange(90, 99));
  }

  @Test
  void suffixLongerThanTheBlobIsTheWholeBlob() {
    assertThat(ByteRange.parse("bytes=-500", 100)).isEqualTo(new ByteRange(0, 99));
  }

  @Test
  void endBeyondTheBlobIsClampedToTheLastByte() {
    assertThat(ByteRange.parse("bytes=90-1000", 100)).isEqualTo(new ByteRange(90, 99));
  }

  @Test
  void surroundingWhitespaceIsTolerated() {
    assertThat(ByteRange.parse("  bytes=0-9 ", 100)).isEqualTo(new ByteRange(0, 9));
  }

  @Test
  void startAtOrBeyondTheSizeIsUnsatisfiable() {
    assertThatThrownBy(() -> ByteRange.parse("bytes=100-", 100))
        .isInstanceOf(ByteRange.Unsatisfiable.class);
    assertThatThrownBy(() -> ByteRange.parse("bytes=150-200", 100))
        .isInstanceOf(ByteRange.Unsatisfiable.class);
  }

  @Test
  void zeroLengthSuffixIsUnsatisfiable() {
    assertThatThrownBy(() -> ByteRange.parse("bytes=-0", 100))
        .isInstanceOf(ByteRange.Unsatisfiable.class);
  }

  @Test
  void anyRangeOfAnEmptyBlobIsUnsatisfiable() {
    assertThatThrownBy(() -> ByteRange.parse("bytes=0-", 0))
        .isInstanceOf(ByteRange.Unsatisfiable.class);
    assertThatThrownBy(() -> ByteRange.parse("bytes=-5", 0))
        .isInstanceOf(ByteRange.Unsatisfiable.class);
  }

  @Test
  void startBeyondLongRangeIsUnsatisfiableNotAnError() {
    assertThatThrownBy(() -> ByteRange.parse("bytes=9999999999999999999-", 100))
        .isInstanceOf(ByteRange.Unsatisfiable.class);
  }

  @Test
  void endOrSuffixBeyondLongRangeMeansTheRestOfTheBlob() {
    assertThat(ByteRange.parse("bytes=10-9999999999999999999", 100))
        .isEqualTo(new ByteRange(10, 99));
    assertThat(ByteRange.parse("bytes=-9999999999999999999", 100)).isEqualTo(new ByteRange(0, 99));
  }

  @ParameterizedTest
  @NullSource
  @ValueSource(
      strings = {
        "bytes=0-1,5-6",
        "bytes=0-1, 5-6",
        "bytes=-",
        "bytes=9-5",
        "items=0-9",
        "bytes 0-9",
        "bytes=a-b",
        "bytes=0-9;x",
        "",
        "bytes=00000000000000000000-1"
      })
  void headersWeDoNotServeAsARangeMeanTheWholeBlob(String header) {
    assertThat(ByteRange.parse(header, 100)).isNull();
  }
}
