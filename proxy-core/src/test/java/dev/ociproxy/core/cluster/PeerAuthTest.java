package dev.ociproxy.core.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The peer path's MAC: only the same secret, request, receiver and minute pass, and only once. */
class PeerAuthTest {
  private static final String SECRET = "0123456789abcdef0123456789abcdef";
  private static final String PATH = "/_peer/v2/up.test/team/app/blobs/sha256:" + "a".repeat(64);
  private static final String B = "10.0.0.6:5000";
  private static final String C = "10.0.0.7:5000";
  private final PeerAuth b = new PeerAuth(SECRET, B);
  private final PeerAuth c = new PeerAuth(SECRET, C);
  private final PeerAuth signer = new PeerAuth(SECRET, "10.0.0.5:5000");

  @Test
  void aRequestSignedWithTheSecretForThisReplicaVerifies() {
    assertThat(b.verify("GET", PATH, signer.sign(B, "GET", PATH, 1_000), 1_030)).isTrue();
  }

  @Test
  void aHeaderSignedForAnotherReplicaIsRefused() {
    String forB = signer.sign(B, "GET", PATH, 1_000);
    assertThat(c.verify("GET", PATH, forB, 1_000)).isFalse();
    assertThat(b.verify("GET", PATH, forB, 1_000)).as("still good where it was going").isTrue();
  }

  @Test
  void theSameHeaderTwiceIsRefusedTheSecondTimeAndAFreshOneStillPasses() {
    String h = signer.sign(B, "GET", PATH, 1_000);
    assertThat(b.verify("GET", PATH, h, 1_000)).isTrue();
    assertThat(b.verify("GET", PATH, h, 1_001)).isFalse();
    assertThat(b.verify("GET", PATH, signer.sign(B, "GET", PATH, 1_001), 1_001)).isTrue();
  }

  @Test
  void aRefusedHeaderDoesNotUseUpItsNonce() {
    String h = signer.sign(B, "GET", PATH, 1_000);
    assertThat(b.verify("HEAD", PATH, h, 1_000)).isFalse();
    assertThat(b.verify("GET", PATH, h, 1_000)).isTrue();
  }

  @Test
  void aMissingOrMalformedHeaderIsRefused() {
    String nonce = "A".repeat(22);
    assertThat(b.verify("GET", PATH, null, 1_000)).isFalse();
    assertThat(b.verify("GET", PATH, "", 1_000)).isFalse();
    assertThat(b.verify("GET", PATH, SECRET, 1_000)).isFalse();
    assertThat(b.verify("GET", PATH, "1000." + "00".repeat(32), 1_000)).as("no nonce").isFalse();
    assertThat(b.verify("GET", PATH, "1000." + nonce + "." + "zz".repeat(32), 1_000)).isFalse();
    assertThat(b.verify("GET", PATH, "x." + nonce + "." + "00".repeat(32), 1_000)).isFalse();
    assertThat(b.verify("GET", PATH, "1000." + "!".repeat(22) + "." + "00".repeat(32), 1_000))
        .isFalse();
  }

  @Test
  void aHeaderForAnotherRequestOrMethodIsRefused() {
    String h = signer.sign(B, "GET", PATH, 1_000);
    assertThat(b.verify("GET", PATH.replace("team/app", "team/other"), h, 1_000)).isFalse();
    assertThat(b.verify("HEAD", PATH, h, 1_000)).isFalse();
  }

  @Test
  void aHeaderOlderOrNewerThanTheWindowIsRefused() {
    String h = signer.sign(B, "GET", PATH, 1_000);
    assertThat(b.verify("GET", PATH, h, 1_000 + PeerAuth.WINDOW.toSeconds() + 1)).isFalse();
    assertThat(b.verify("GET", PATH, h, 1_000 - PeerAuth.WINDOW.toSeconds() - 1)).isFalse();
  }

  @Test
  void anotherSecretsMacIsRefused() {
    PeerAuth other = new PeerAuth(SECRET.replace('0', '1'), "10.0.0.5:5000");
    assertThat(b.verify("GET", PATH, other.sign(B, "GET", PATH, 1_000), 1_000)).isFalse();
  }

  @Test
  void aSecretShorterThan32CharactersIsRefused() {
    assertThatThrownBy(() -> new PeerAuth("short", B)).hasMessageContaining("at least 32");
  }
}
