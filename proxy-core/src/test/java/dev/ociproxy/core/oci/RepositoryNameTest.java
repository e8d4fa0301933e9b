package dev.ociproxy.core.oci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RepositoryNameTest {

  @ParameterizedTest
  @ValueSource(
      strings = {
        "alpine",
        "library/alpine",
        "a/b/c/d",
        "a.b",
        "a_b",
        "a__b",
        "a-b",
        "a---b",
        "0",
        "my-org/my.app_v2"
      })
  void namesFromTheSpecGrammarAreAccepted(String s) {
    assertThat(new RepositoryName(s).value()).isEqualTo(s);
    assertThat(RepositoryName.isValid(s)).isTrue();
  }

  @Test
  void doubleUnderscoreSeparatorIsAcceptedButTripleIsNot() {
    assertThat(RepositoryName.isValid("a__b")).isTrue();
    assertRefused("a___b");
  }

  @ParameterizedTest
  @ValueSource(strings = {"Alpine", "library/Alpine", "ALPINE"})
  void upperCaseIsRefused(String s) {
    assertRefused(s);
  }

  @ParameterizedTest
  @ValueSource(strings = {"a..b", "..", "a/../b", "../etc/passwd", "a/.."})
  void dotDotIsRefused(String s) {
    assertRefused(s);
  }

  @ParameterizedTest
  @ValueSource(strings = {"a//b", "//a", "a//"})
  void emptyPathComponentIsRefused(String s) {
    assertRefused(s);
  }

  @ParameterizedTest
  @ValueSource(strings = {"/a", "a/", ".a", "a.", "-a", "a-", "_a", "a_", "a/-b", "a/b.", "a._b"})
  void leadingOrTrailingSeparatorsAreRefused(String s) {
    assertRefused(s);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "a b", "a:b", "a@b", "a\\b", "a%2fb", "ä", "a\nb"})
  void charactersOutsideTheGrammarAreRefused(String s) {
    assertRefused(s);
  }

  @Test
  void nameOf255CharactersIsAcceptedAnd256IsRefused() {
    String ok = "a/".repeat(127) + "a";
    assertThat(ok).hasSize(255);
    assertThat(new RepositoryName(ok).value()).isEqualTo(ok);

    assertRefused(ok + "b");
  }

  @Test
  void pathologicalInputIsRefusedQuickly() {
    String evil = "a-".repeat(127) + "!";

    assertThat(assertTimeoutPreemptively(Duration.ofSeconds(2), () -> RepositoryName.isValid(evil)))
        .isFalse();
  }

  private static void assertRefused(String s) {
    assertThat(RepositoryName.isValid(s)).isFalse();
    assertThatThrownBy(() -> new RepositoryName(s))
        .isInstanceOfSatisfying(
            RegistryException.class,
            e -> {
              assertThat(e.code()).isEqualTo(OciErrorCode.NAME_INVALID);
              assertThat(e.status()).isEqualTo(400);
            });
  }
}
