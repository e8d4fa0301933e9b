package dev.ociproxy.core.oci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TagTest {

  @ParameterizedTest
  @ValueSource(strings = {"latest", "v1.2.3", "1.0-rc_1", "_private", "A", "3.19", "x__y--z..w"})
  void tagsFromTheSpecGrammarAreAccepted(String s) {
    assertThat(new Tag(s).value()).isEqualTo(s);
  }

  @Test
  void tagOf128CharactersIsAccepted() {
    String s = "a".repeat(128);

    assertThat(new Tag(s)).hasToString(s);
  }

  @Test
  void tagOf129CharactersIsRefused() {
    assertRefused("a".repeat(129));
  }

  @ParameterizedTest
  @ValueSource(strings = {".hidden", "-flag", ".", "-"})
  void tagStartingWithDotOrDashIsRefused(String s) {
    assertRefused(s);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "a/b", "a:b", "a b", "a+b", "tag\n", "ünïcode", "a@b", "..%2F"})
  void tagWithCharactersOutsideTheGrammarIsRefused(String s) {
    assertRefused(s);
  }

  @Test
  void refusalMessageAbbreviatesAHugeTag() {
    assertThatThrownBy(() -> new Tag("x".repeat(100_000)))
        .isInstanceOf(RegistryException.class)
        .satisfies(e -> assertThat(e.getMessage().length()).isLessThan(200));
  }

  private static void assertRefused(String s) {
    assertThatThrownBy(() -> new Tag(s))
        .isInstanceOfSatisfying(
            RegistryException.class,
            e -> {
              assertThat(e.code()).isEqualTo(OciErrorCode.MANIFEST_INVALID);
              assertThat(e.status()).isEqualTo(400);
            });
  }
}
