package dev.ociproxy.core.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The peer path's MAC: only the same secret, request and minute pass. */
class PeerAuthTest {
  private static final String SECRET = "0123456789abcdef0123456789abcdef";
  private static final String PATH = "/_peer/v2/up.test/team/app/blobs/sha256:" + "a".repeat(64);
  private final PeerAuth auth = new PeerAuth(SECRET);

  @Test
  void aRequestSignedWithTheSecretVerifies() {
    assertThat(auth.verify("GET", PATH, auth.sign("GET", PATH, 1_000), 1_030)).isTrue();
  }

  @Test
  void aMissingOrMalformedHeaderIsRefused() {
    assertThat(auth.verify("GET", PATH, null, 1_000)).isFalse();
    assertThat(auth.verify("GET", PATH, "", 1_000)).isFalse();
    assertThat(auth.verify("GET", PATH, SECRET, 1_000)).isFalse();
    assertThat(auth.verify("GET", PATH, "1000." + "zz".repeat(32), 1_000)).isFalse();
    assertThat(auth.verify("GET", PATH, "x." + "00".repeat(32), 1_000)).isFalse();
  }

  @Test
  void aHeaderForAnotherRequestOrMethodIsRefused() {
    String h = auth.sign("GET", PATH, 1_000);
    assertThat(auth.verify("GET", PATH.replace("team/app", "team/other"), h, 1_000)).isFalse();
    assertThat(auth.verify("HEAD", PATH, h, 1_000)).isFalse();
  }

  @Test
  void aHeaderOlderOrNewerThanTheWindowIsRefused() {
    String h = auth.sign("GET", PATH, 1_000);
    assertThat(auth.verify("GET", PATH, h, 1_000 + PeerAuth.WINDOW.toSeconds() + 1)).isFalse();
    assertThat(auth.verify("GET", PATH, h, 1_000 - PeerAuth.WINDOW.toSeconds() - 1)).isFalse();
  }

  @Test
  void anotherSecretsMacIsRefused() {
    PeerAuth other = new PeerAuth(SECRET.replace('0', '1'));
    assertThat(auth.verify("GET", PATH, other.sign("GET", PATH, 1_000), 1_000)).isFalse();
  }

  @Test
  void aSecretShorterThan32CharactersIsRefused() {
    assertThatThrownBy(() -> new PeerAuth("short")).hasMessageContaining("at least 32");
  }
}
