package dev.ociproxy.core.oci;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The repository-name, tag and hex checks are written by hand for speed; these tests hold them to
 * the distribution spec's regular expressions on many generated strings, biased towards the
 * characters that matter (separators, boundaries, case).
 */
class GrammarAgreementTest {
  private static final Pattern SPEC_NAME =
      Pattern.compile("[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*");
  private static final Pattern SPEC_TAG = Pattern.compile("[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}");
  private static final Pattern SPEC_SHA256_HEX = Pattern.compile("[0-9a-f]{64}");

  private final Random random = new Random(20261125);

  @Test
  void repositoryNameCheckAgreesWithTheSpecGrammar() {
    int valid = 0;
    for (int i = 0; i < 200_000; i++) {
      String s = generate("ab0._-/_-Z ", 1 + random.nextInt(12));
      boolean spec = s.length() <= RepositoryName.MAX_LENGTH && SPEC_NAME.matcher(s).matches();
      assertThat(RepositoryName.isValid(s)).as("'%s'", s).isEqualTo(spec);
      valid += spec ? 1 : 0;
    }
    assertThat(valid).as("the generator must also produce valid names").isGreaterThan(5_000);
  }

  @Test
  void repositoryNamesOverTheLengthLimitAreRefusedEvenWhenWellFormed() {
    assertThat(RepositoryName.isValid("a".repeat(RepositoryName.MAX_LENGTH))).isTrue();
    assertThat(RepositoryName.isValid("a".repeat(RepositoryName.MAX_LENGTH + 1))).isFalse();
  }

  @Test
  void tagCheckAgreesWithTheSpecGrammar() {
    int valid = 0;
    for (int i = 0; i < 200_000; i++) {
      int len = random.nextInt(10) == 0 ? 120 + random.nextInt(15) : random.nextInt(8);
      String s = generate("aZ9._-:/@ ", len);
      boolean spec = SPEC_TAG.matcher(s).matches();
      assertThat(Tag.isValid(s)).as("'%s'", s).isEqualTo(spec);
      valid += spec ? 1 : 0;
    }
    assertThat(valid).isGreaterThan(10_000);
  }

  @Test
  void sha256HexCheckAgreesWithTheSpecGrammar() {
    for (int i = 0; i < 50_000; i++) {
      int len = random.nextBoolean() ? 64 : 62 + random.nextInt(5);
      String s = generate("0123456789abcdefABCDEFg", len);
      assertThat(Algorithm.SHA256.isValidHex(s))
          .as("'%s'", s)
          .isEqualTo(SPEC_SHA256_HEX.matcher(s).matches());
    }
  }

  private String generate(String alphabet, int len) {
    StringBuilder b = new StringBuilder(len);
    for (int i = 0; i < len; i++) {
      b.append(alphabet.charAt(random.nextInt(alphabet.length())));
    }
    return b.toString();
  }
}
