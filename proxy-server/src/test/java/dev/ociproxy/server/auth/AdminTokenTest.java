package dev.ociproxy.server.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullSource;
import org.junit.jupiter.params.provider.ValueSource;

class AdminTokenTest {
  private static final String TOKEN = "0123456789abcdef-admin";
  private final AdminToken token = new AdminToken(TOKEN);

  @Test
  void bearerWithTheTokenIsAdmittedWhateverTheSchemesCase() {
    assertThat(token.admits("Bearer " + TOKEN)).isTrue();
    assertThat(token.admits("bearer " + TOKEN)).isTrue();
    assertThat(token.admits("Bearer  " + TOKEN + " ")).isTrue();
  }

  @ParameterizedTest
  @NullSource
  @ValueSource(
      strings = {
        "",
        "Bearer",
        "Bearer ",
        "Bearer 0123456789abcdef-admi",
        "Bearer 0123456789abcdef-adminX",
        "Basic MDEyMzQ1Njc4OWFiY2RlZi1hZG1pbg==",
        "0123456789abcdef-admin",
        "Token 0123456789abcdef-admin"
      })
  void anythingElseIsRefused(String authorization) {
    assertThat(token.admits(authorization)).isFalse();
  }

  @Test
  void shortOrSpacedTokensAreRefusedAndNoneIsPrinted() {
    assertThatThrownBy(() -> new AdminToken("0123456789abcde")).hasMessageContaining("at least 16");
    assertThatThrownBy(() -> new AdminToken("0123456789 abcdef"))
        .hasMessageContaining("whitespace");
    assertThat(token.toString()).doesNotContain(TOKEN);
  }
}
