package dev.ociproxy.core.oci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DigestTest {
  private static final String HEX64 = "0123456789abcdef".repeat(4);
  private static final String HEX128 = "0123456789abcdef".repeat(8);

  @Test
  void sha256DigestParsesAndPrintsBackUnchanged() {
    Digest d = Digest.parse("sha256:" + HEX64);

    assertThat(d.algorithm()).isEqualTo(Algorithm.SHA256);
    assertThat(d.hex()).isEqualTo(HEX64);
    assertThat(d).hasToString("sha256:" + HEX64);
  }

  @Test
  void sha512DigestParses() {
    Digest d = Digest.parse("sha512:" + HEX128);

    assertThat(d.algorithm()).isEqualTo(Algorithm.SHA512);
    assertThat(d).hasToString("sha512:" + HEX128);
  }

  @Test
  void digestsWithTheSameTextAreEqual() {
    assertThat(Digest.parse("sha256:" + HEX64)).isEqualTo(Digest.parse("sha256:" + HEX64));
  }

  @Test
  void digestWithUppercaseHexIsInvalid() {
    assertInvalid("sha256:" + HEX64.toUpperCase(java.util.Locale.ROOT));
  }

  @Test
  void digestWithUppercaseAlgorithmIsInvalid() {
    assertInvalid("SHA256:" + HEX64);
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 63, 65, 128})
  void sha256DigestWithWrongHexLengthIsInvalid(int length) {
    assertInvalid("sha256:" + "a".repeat(length));
  }

  @Test
  void sha512DigestWithSha256LengthIsInvalid() {
    assertInvalid("sha512:" + HEX64);
  }

  @Test
  void digestWithNonHexCharacterIsInvalid() {
    assertInvalid("sha256:" + HEX64.substring(1) + "g");
  }

  @Test
  void wellFormedDigestWithUnknownAlgorithmIsInvalidWith400() {
    assertInvalid("md5:" + "a".repeat(32))
        .hasMessageContaining("unsupported digest algorithm: md5")
        .extracting(e -> ((RegistryException) e).status())
        .isEqualTo(400);
  }

  @Test
  void multihashStyleAlgorithmWeCannotVerifyIsInvalid() {
    assertInvalid("sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        " sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef ",
        "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n",
        "sha256 :0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "sha256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
      })
  void digestWithWhitespaceIsInvalid(String s) {
    assertInvalid(s);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", ":", "sha256", "sha256:", ":" + "a", "latest", "sha256::abc"})
  void digestWithoutAlgorithmOrHexIsInvalid(String s) {
    assertInvalid(s);
  }

  @Test
  void overlongDigestIsInvalidWithAnAbbreviatedReason() {
    assertInvalid("sha256:" + "a".repeat(10_000));
  }

  @Test
  void constructorRefusesHexThatDoesNotFitTheAlgorithm() {
    assertThatThrownBy(() -> new Digest(Algorithm.SHA256, HEX128))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("expected: 64 lowercase hex chars");
  }

  @Test
  void sha256OfEmptyContentIsTheWellKnownValue() {
    assertThat(Digest.sha256(new byte[0]))
        .hasToString("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  }

  @Test
  void sha512OfContentMatchesTheJdk() throws Exception {
    byte[] content = "hello".getBytes(StandardCharsets.UTF_8);
    byte[] expected = java.security.MessageDigest.getInstance("SHA-512").digest(content);

    assertThat(Digest.of(Algorithm.SHA512, content).hex())
        .isEqualTo(java.util.HexFormat.of().formatHex(expected));
  }

  @Test
  void onlyStringsWithAColonLookLikeDigests() {
    assertThat(Digest.looksLikeDigest("sha256:abc")).isTrue();
    assertThat(Digest.looksLikeDigest("v1.2.3")).isFalse();
  }

  private static AbstractThrowableAssert<?, ? extends Throwable> assertInvalid(String s) {
    return assertThatThrownBy(() -> Digest.parse(s))
        .isInstanceOfSatisfying(
            RegistryException.class,
            e -> assertThat(e.code()).isEqualTo(OciErrorCode.DIGEST_INVALID));
  }
}
