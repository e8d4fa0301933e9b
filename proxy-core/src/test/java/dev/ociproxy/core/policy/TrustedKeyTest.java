package dev.ociproxy.core.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ociproxy.testing.CosignSignatures;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class TrustedKeyTest {
  private static final byte[] DATA = "the payload".getBytes(StandardCharsets.UTF_8);

  static Stream<KeyPair> keys() {
    return Stream.of(
        CosignSignatures.ecKey(), CosignSignatures.rsaKey(), CosignSignatures.ed25519Key());
  }

  @ParameterizedTest
  @MethodSource("keys")
  void aKeyReadFromItsPem_verifiesWhatItsPrivateKeySigned_andNothingElse(KeyPair pair) {
    TrustedKey key = TrustedKey.fromPem("k.pub", CosignSignatures.pem(pair.getPublic()));
    byte[] sig = CosignSignatures.sign(pair.getPrivate(), DATA);

    assertThat(key.verifies(DATA, sig)).isTrue();
    byte[] tampered = DATA.clone();
    tampered[3] ^= 1;
    assertThat(key.verifies(tampered, sig)).as("tampered data").isFalse();
    byte[] flipped = sig.clone();
    flipped[flipped.length / 2] ^= 1;
    assertThat(key.verifies(DATA, flipped)).as("flipped signature byte").isFalse();
  }

  @ParameterizedTest
  @MethodSource("keys")
  void aSignatureByAnotherKeyOfTheSameKind_doesNotVerify(KeyPair pair) {
    KeyPair other =
        switch (pair.getPublic().getAlgorithm()) {
          case "EC" -> CosignSignatures.ecKey();
          case "RSA" -> CosignSignatures.rsaKey();
          default -> CosignSignatures.ed25519Key();
        };
    TrustedKey key = TrustedKey.fromPem("k.pub", CosignSignatures.pem(pair.getPublic()));

    assertThat(key.verifies(DATA, CosignSignatures.sign(other.getPrivate(), DATA))).isFalse();
  }

  @Test
  void garbageInsteadOfASignature_isNotAVerifiedSignatureNorAnError() {
    TrustedKey key =
        TrustedKey.fromPem("k.pub", CosignSignatures.pem(CosignSignatures.ecKey().getPublic()));

    assertThat(key.verifies(DATA, new byte[] {1, 2, 3})).isFalse();
  }

  @Test
  void textWithoutAPemPublicKey_isRefusedSayingWhatIsExpected() {
    assertThatThrownBy(() -> TrustedKey.fromPem("k.pub", "not a key"))
        .hasMessageContaining("BEGIN PUBLIC KEY");
    assertThatThrownBy(
            () ->
                TrustedKey.fromPem(
                    "k.pub", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"))
        .hasMessageContaining("not an EC, RSA or Ed25519 key");
  }

  @Test
  void aP384Key_verifiesSha384WithEcdsa_asCosignPairsTheHashWithTheCurve() throws Exception {
    var g = java.security.KeyPairGenerator.getInstance("EC");
    g.initialize(new java.security.spec.ECGenParameterSpec("secp384r1"));
    KeyPair pair = g.generateKeyPair();
    var s = java.security.Signature.getInstance("SHA384withECDSA");
    s.initSign(pair.getPrivate());
    s.update(DATA);
    TrustedKey key = TrustedKey.fromPem("k.pub", CosignSignatures.pem(pair.getPublic()));

    assertThat(key.verifies(DATA, s.sign())).isTrue();
    assertThat(key.verifies(DATA, CosignSignatures.sign(pair.getPrivate(), DATA)))
        .as("SHA-256 over P-384 is not what cosign makes")
        .isFalse();
  }
}
