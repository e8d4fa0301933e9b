package dev.ociproxy.core.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

class AuthChallengeTest {

  @Test
  void dockerHubBearerChallengeYieldsRealmServiceAndScope() {
    AuthChallenge c =
        AuthChallenge.parse(
            "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
                + "scope=\"repository:library/alpine:pull\"");

    assertThat(c.isBearer()).isTrue();
    assertThat(c.isBasic()).isFalse();
    assertThat(c.param("realm")).isEqualTo("https://auth.docker.io/token");
    assertThat(c.param("service")).isEqualTo("registry.docker.io");
    assertThat(c.param("scope")).isEqualTo("repository:library/alpine:pull");
  }

  @Test
  void commaInsideAQuotedValueDoesNotEndTheValue() {
    AuthChallenge c =
        AuthChallenge.parse(
            "Bearer realm=\"https://ghcr.io/token\",scope=\"repository:a/b:pull,push\",service=\"ghcr.io\"");

    assertThat(c.param("scope")).isEqualTo("repository:a/b:pull,push");
    assertThat(c.param("service")).isEqualTo("ghcr.io");
  }

  @Test
  void escapedQuoteInsideAQuotedValueIsUnescaped() {
    AuthChallenge c = AuthChallenge.parse("Bearer realm=\"say \\\"hi\\\"\",service=\"s\"");

    assertThat(c.param("realm")).isEqualTo("say \"hi\"");
    assertThat(c.param("service")).isEqualTo("s");
  }

  @Test
  void basicChallengeWithRealmIsBasic() {
    AuthChallenge c = AuthChallenge.parse("Basic realm=\"Registry Realm\"");

    assertThat(c.isBasic()).isTrue();
    assertThat(c.isBearer()).isFalse();
    assertThat(c.param("realm")).isEqualTo("Registry Realm");
  }

  @Test
  void schemeAndParameterNamesAreCaseInsensitive() {
    AuthChallenge c = AuthChallenge.parse("BEARER Realm=\"https://r/token\", SERVICE=\"x\"");

    assertThat(c.isBearer()).isTrue();
    assertThat(c.param("realm")).isEqualTo("https://r/token");
    assertThat(c.param("service")).isEqualTo("x");
  }

  @Test
  void unquotedValuesEndAtTheComma() {
    AuthChallenge c = AuthChallenge.parse("Bearer realm=https://r/token?a=b,service=reg");

    assertThat(c.param("realm")).isEqualTo("https://r/token?a=b");
    assertThat(c.param("service")).isEqualTo("reg");
  }

  @Test
  void spacesAroundParametersAreIgnored() {
    AuthChallenge c = AuthChallenge.parse("  Bearer   realm=\"r\" ,  service=\"s\"  ");

    assertThat(c.param("realm")).isEqualTo("r");
    assertThat(c.param("service")).isEqualTo("s");
  }

  @Test
  void schemeWithoutParametersHasNone() {
    AuthChallenge c = AuthChallenge.parse("Basic");

    assertThat(c.isBasic()).isTrue();
    assertThat(c.params()).isEmpty();
    assertThat(c.param("realm")).isNull();
  }

  @ParameterizedTest
  @NullAndEmptySource
  @ValueSource(
      strings = {"   ", "realm=\"x\"", "Bea\"rer realm=x", "{\"json\":1}", "Bearer/1 realm=x"})
  void garbageIsNotAChallenge(String header) {
    assertThat(AuthChallenge.parse(header)).isNull();
  }
}
