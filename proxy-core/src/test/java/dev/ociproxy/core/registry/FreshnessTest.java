package dev.ociproxy.core.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ociproxy.core.oci.Tag;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class FreshnessTest {
  private static final Duration TTL = Duration.ofSeconds(30);

  @Test
  void theOperatorsFirstMatchingRuleWinsOverTheDefaultsAndTheTagTtlIsTheFallback() {
    Freshness f =
        new Freshness(
            List.of(
                Freshness.Rule.of("v*", Freshness.NEVER),
                Freshness.Rule.of("v1.*", Freshness.ALWAYS)),
            TTL);

    assertThat(f.of(new Tag("v1.2.3"))).isEqualTo(Freshness.NEVER);
    assertThat(f.of(new Tag("latest"))).isEqualTo(TTL);
  }

  @Test
  void theDefaultsTrustSignatureTagsBrieflyAndFullSemanticVersionsForADay() {
    Freshness f = new Freshness(List.of(), TTL);

    assertThat(f.of(new Tag("sha256-" + "a".repeat(64) + ".sig"))).isEqualTo(Duration.ofMinutes(1));
    assertThat(f.of(new Tag("1.25.3"))).isEqualTo(Duration.ofHours(24));
    assertThat(f.of(new Tag("v1.25.3"))).isEqualTo(Duration.ofHours(24));
    assertThat(f.of(new Tag("1.25"))).as("not a full version").isEqualTo(TTL);
    assertThat(f.of(new Tag("1.25.3-alpine")))
        .as("a variant, rebuilt with its base")
        .isEqualTo(TTL);
    assertThat(f.of(new Tag("latest"))).isEqualTo(TTL);
  }

  @Test
  void aPatternBetweenSlashesIsARegularExpressionThatMustMatchTheWholeTag() {
    Freshness f =
        new Freshness(List.of(Freshness.Rule.of("/[0-9]+-stable/", Duration.ofMinutes(5))), TTL);

    assertThat(f.of(new Tag("12-stable"))).isEqualTo(Duration.ofMinutes(5));
    assertThat(f.of(new Tag("12-stable-rc"))).isEqualTo(TTL);
  }

  @Test
  void globCharactersOtherThanStarAndQuestionMarkAreLiteral() {
    Freshness f = new Freshness(List.of(Freshness.Rule.of("v1.?", Freshness.NEVER)), TTL);

    assertThat(f.of(new Tag("v1.2"))).isEqualTo(Freshness.NEVER);
    assertThat(f.of(new Tag("v1x2"))).as("the dot is not a regex dot").isEqualTo(TTL);
  }

  @Test
  void neverIsFreshForeverAndAlwaysIsNeverFresh() {
    Freshness f =
        new Freshness(
            List.of(
                Freshness.Rule.of("pinned", Freshness.NEVER),
                Freshness.Rule.of("moving", Freshness.ALWAYS)),
            TTL);
    long now = System.currentTimeMillis();

    assertThat(f.isFresh(new Tag("pinned"), 0)).isTrue();
    assertThat(f.isFresh(new Tag("moving"), now + 60_000)).isFalse();
    assertThat(f.isFresh(new Tag("other"), now)).isTrue();
    assertThat(f.isFresh(new Tag("other"), now - 31_000)).isFalse();
  }

  @Test
  void aBrokenRegularExpressionIsRefusedWithWhatIsWrong() {
    assertThatThrownBy(() -> Freshness.Rule.of("/v[0-9/", Freshness.NEVER))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("'/v[0-9/' is not a regular expression");
  }
}
