package dev.ociproxy.core.verify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ociproxy.core.oci.Algorithm;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.verify.VerificationException.Reason;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class DigestHeaderTest {
  private static final byte[] BODY = "{\"schemaVersion\":2}".getBytes(StandardCharsets.UTF_8);
  private static final Digest ASKED = Digest.sha256(BODY);
  private static final Digest OTHER = Digest.sha256(new byte[] {1});

  @Test
  void aBlobHeaderNamingAnotherDigestOfTheSameAlgorithmIsRefusedAndNamed() {
    assertThatThrownBy(
            () -> DigestHeader.checkBlob(ASKED, " " + OTHER + " ", "HEAD answered with "))
        .isInstanceOfSatisfying(
            VerificationException.class,
            e -> {
              assertThat(e.reason()).isEqualTo(Reason.DIGEST_HEADER_MISMATCH);
              assertThat(e.requested()).isEqualTo(ASKED);
              assertThat(e.detail()).isEqualTo("HEAD answered with Docker-Content-Digest " + OTHER);
            });
  }

  @Test
  void aBlobHeaderThatIsAbsentNamesTheDigestOrUsesAnotherAlgorithmPasses() {
    Digest sha512 = Digest.of(Algorithm.SHA512, BODY);

    assertThatCode(
            () -> {
              DigestHeader.checkBlob(ASKED, null, "");
              DigestHeader.checkBlob(ASKED, ASKED + " ", "");
              DigestHeader.checkBlob(ASKED, sha512.toString(), "");
              DigestHeader.checkBlob(ASKED, "not a digest", "");
            })
        .doesNotThrowAnyException();
  }

  @Test
  void aTagManifestsHeaderIsTheClaimedDigestWhenTheBodyHashesToIt_inTheHeadersAlgorithm() {
    Digest sha512 = Digest.of(Algorithm.SHA512, BODY);

    assertThat(DigestHeader.checkTagManifest(ASKED.toString(), BODY)).isEqualTo(ASKED);
    assertThat(DigestHeader.checkTagManifest(" " + sha512, BODY)).isEqualTo(sha512);
    assertThat(DigestHeader.checkTagManifest(null, BODY)).isNull();
  }

  @Test
  void aTagManifestsHeaderThatTheBodyDoesNotHashToIsRefused() {
    assertThatThrownBy(() -> DigestHeader.checkTagManifest(OTHER.toString(), BODY))
        .isInstanceOfSatisfying(
            VerificationException.class,
            e -> {
              assertThat(e.reason()).isEqualTo(Reason.DIGEST_HEADER_MISMATCH);
              assertThat(e.requested()).isNull();
              assertThat(e.detail())
                  .isEqualTo("Docker-Content-Digest " + OTHER + " but body hashes to " + ASKED);
            });
  }

  @Test
  void anUnusableTagManifestHeaderIsRefused() {
    assertThatThrownBy(() -> DigestHeader.checkTagManifest("md5:abc", BODY))
        .isInstanceOfSatisfying(
            VerificationException.class,
            e -> {
              assertThat(e.reason()).isEqualTo(Reason.DIGEST_HEADER_MISMATCH);
              assertThat(e.detail()).isEqualTo("unusable Docker-Content-Digest md5:abc");
            });
  }
}
