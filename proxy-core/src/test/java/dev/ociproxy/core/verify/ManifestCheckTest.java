package dev.ociproxy.core.verify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import dev.ociproxy.core.oci.Algorithm;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.MediaTypes;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.verify.VerificationException.Reason;
import java.nio.charset.StandardCharsets;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

class ManifestCheckTest {
  private static final byte[] MANIFEST =
      ("{\"schemaVersion\":2,\"mediaType\":\""
              + MediaTypes.OCI_MANIFEST
              + "\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
              + "\"digest\":\"sha256:"
              + "c".repeat(64)
              + "\",\"size\":7},\"layers\":[]}")
          .getBytes(StandardCharsets.UTF_8);
  private static final Digest DIGEST = Digest.sha256(MANIFEST);
  private static final Digest OTHER = Digest.sha256(new byte[] {1});

  @Test
  void aManifestThatHashesToTheRequestedDigestPassesWithItsParsedMediaType() {
    ManifestCheck.Passed p =
        ManifestCheck.byDigest(DIGEST, MANIFEST, null, MediaTypes.OCI_MANIFEST);

    assertThat(p.digest()).isEqualTo(DIGEST);
    assertThat(p.claimed()).isNull();
    assertThat(p.document().mediaType()).isEqualTo(MediaTypes.OCI_MANIFEST);
  }

  @Test
  void aManifestThatHashesToAnotherDigestIsRefusedNamingGotWantAndTheHeader() {
    assertRefused(
            () -> ManifestCheck.byDigest(OTHER, MANIFEST, DIGEST.toString(), null),
            Reason.DIGEST_MISMATCH,
            OTHER)
        .isEqualTo(
            "got "
                + Digest.sha256(MANIFEST)
                + " ("
                + MANIFEST.length
                + " bytes, Docker-Content-Digest: "
                + DIGEST
                + "), want "
                + OTHER);
  }

  @Test
  void byDigestTheRequestedAlgorithmHashesTheBody() {
    Digest sha512 = Digest.of(Algorithm.SHA512, MANIFEST);

    assertThat(ManifestCheck.byDigest(sha512, MANIFEST, null, null).digest()).isEqualTo(sha512);
  }

  @Test
  void aBodyThatIsNoManifestOfTheDeclaredTypeIsAMediaTypeMismatch() {
    assertRefused(
            () -> ManifestCheck.byDigest(DIGEST, MANIFEST, null, MediaTypes.OCI_INDEX),
            Reason.MEDIA_TYPE_MISMATCH,
            DIGEST)
        .endsWith("(Content-Type: " + MediaTypes.OCI_INDEX + ")");
    byte[] notJson = "nope".getBytes(StandardCharsets.UTF_8);
    assertRefused(() -> ManifestCheck.byTag(notJson, null, null), Reason.MEDIA_TYPE_MISMATCH, null)
        .contains("not valid JSON")
        .endsWith("(Content-Type: null)");
  }

  @Test
  void byTagTheDigestIsTheBodysSha256AndTheHeaderIsTheClaim() {
    Digest sha512 = Digest.of(Algorithm.SHA512, MANIFEST);

    ManifestCheck.Passed p = ManifestCheck.byTag(MANIFEST, sha512.toString(), null);

    assertThat(p.digest()).isEqualTo(DIGEST);
    assertThat(p.claimed()).isEqualTo(sha512);
    assertThat(ManifestCheck.byTag(MANIFEST, null, null).claimed()).isNull();
  }

  @Test
  void byTagAHeaderTheBodyDoesNotHashToIsRefused() {
    assertRefused(
            () -> ManifestCheck.byTag(MANIFEST, OTHER.toString(), null),
            Reason.DIGEST_HEADER_MISMATCH,
            null)
        .startsWith("Docker-Content-Digest " + OTHER);
  }

  @Test
  void aBodyOverTheLimitIsTooLargeAndAManifestError() {
    VerificationException e = ManifestCheck.tooLarge("body of 9 bytes exceeds 8");

    assertThat(e.reason()).isEqualTo(Reason.TOO_LARGE);
    assertThat(e.code()).isEqualTo(OciErrorCode.MANIFEST_INVALID);
    assertThat(e.detail()).isEqualTo("body of 9 bytes exceeds 8");
  }

  @Test
  void aManifestOfAnotherSizeThanItsDescriptorListsIsRefused() {
    assertRefused(
            () -> ManifestCheck.listedSize(OTHER, "listed referrer " + DIGEST, 5, MANIFEST),
            Reason.SIZE_MISMATCH,
            OTHER)
        .isEqualTo("listed referrer " + DIGEST + " claimed 5 bytes, has " + MANIFEST.length);
    assertThatCode(() -> ManifestCheck.listedSize(OTHER, "x", MANIFEST.length, MANIFEST))
        .doesNotThrowAnyException();
  }

  private static org.assertj.core.api.AbstractStringAssert<?> assertRefused(
      ThrowingCallable check, Reason reason, @Nullable Digest requested) {
    VerificationException e;
    try {
      check.call();
      throw new AssertionError("expected a refusal for " + reason);
    } catch (VerificationException thrown) {
      e = thrown;
    } catch (Throwable other) {
      throw new AssertionError("expected a refusal for " + reason, other);
    }
    assertThat(e.reason()).isEqualTo(reason);
    assertThat(e.requested()).isEqualTo(requested);
    assertThat(e.getMessage()).isEqualTo("upstream content failed verification: " + e.detail());
    return assertThat(e.detail());
  }
}
