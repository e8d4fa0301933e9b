package dev.ociproxy.core.oci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ReferenceTest {
  private static final String HEX64 = "ab".repeat(32);

  @Test
  void referenceWithoutColonIsATag() {
    assertThat(Reference.parse("v1")).isEqualTo(new Tag("v1"));
  }

  @Test
  void referenceWithColonIsADigest() {
    assertThat(Reference.parse("sha256:" + HEX64)).isEqualTo(new Digest(Algorithm.SHA256, HEX64));
  }

  @Test
  void referenceWithColonThatIsNotADigestIsDigestInvalidRatherThanATag() {
    assertThatThrownBy(() -> Reference.parse("v1:latest"))
        .isInstanceOfSatisfying(
            RegistryException.class,
            e -> assertThat(e.code()).isEqualTo(OciErrorCode.DIGEST_INVALID));
  }

  @Test
  void referenceThatIsNeitherTagNorDigestIsRefused() {
    assertThatThrownBy(() -> Reference.parse("-v1"))
        .isInstanceOfSatisfying(
            RegistryException.class,
            e -> assertThat(e.code()).isEqualTo(OciErrorCode.MANIFEST_INVALID));
  }
}
