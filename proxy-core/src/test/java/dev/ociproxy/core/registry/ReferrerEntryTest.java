package dev.ociproxy.core.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.MediaTypes;
import dev.ociproxy.core.verify.VerificationException;
import dev.ociproxy.testing.OciJson;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** One referrer's entry, recomputed from its manifest's bytes (the rule warm and import share). */
class ReferrerEntryTest {
  private static final Digest SUBJECT = Digest.sha256("image".getBytes(StandardCharsets.UTF_8));
  private static final String EMPTY = "application/vnd.oci.empty.v1+json";

  private static Referrers.Referrer entry(byte[] body, String mediaType) {
    return Referrers.referrer(SUBJECT, Digest.sha256(body), mediaType, body);
  }

  private static VerificationException.Reason refusal(byte[] body) {
    try {
      entry(body, MediaTypes.OCI_MANIFEST);
    } catch (VerificationException v) {
      return v.reason();
    }
    throw new AssertionError("accepted");
  }

  @Test
  void theArtifactTypeIsTheManifestsOwn_elseItsConfigMediaType_andTheSizeAndAnnotationsItsBytes() {
    byte[] sbom = OciJson.artifact("application/spdx+json", EMPTY, SUBJECT.toString(), "sbom");
    byte[] signature =
        OciJson.artifact(null, "application/vnd.example.sig", SUBJECT.toString(), "s");

    Referrers.Referrer typed = entry(sbom, MediaTypes.OCI_MANIFEST);
    Referrers.Referrer byConfig = entry(signature, MediaTypes.OCI_MANIFEST);

    assertThat(typed.artifactType()).isEqualTo("application/spdx+json");
    assertThat(typed.size()).isEqualTo(sbom.length);
    assertThat(typed.digest()).isEqualTo(Digest.sha256(sbom));
    assertThat(typed.annotations()).containsEntry("org.example.label", "sbom");
    assertThat(byConfig.artifactType()).isEqualTo("application/vnd.example.sig");
  }

  @Test
  void anIndexWithoutAnArtifactTypeHasNone() {
    byte[] index =
        ("{\"schemaVersion\":2,\"mediaType\":\""
                + MediaTypes.OCI_INDEX
                + "\",\"manifests\":[],"
                + "\"subject\":{\"mediaType\":\"x\",\"digest\":\""
                + SUBJECT
                + "\",\"size\":1}}")
            .getBytes(StandardCharsets.UTF_8);

    assertThat(entry(index, MediaTypes.OCI_INDEX).artifactType()).isNull();
  }

  @Test
  void aManifestAboutAnotherSubjectOrNoneOrNotJsonIsRefused() {
    byte[] other =
        OciJson.artifact("t", EMPTY, Digest.sha256(new byte[] {1}).toString(), "elsewhere");
    byte[] none = "{\"schemaVersion\":2,\"config\":{}}".getBytes(StandardCharsets.UTF_8);

    assertThat(refusal(other)).isEqualTo(VerificationException.Reason.SUBJECT_MISMATCH);
    assertThat(refusal(none)).isEqualTo(VerificationException.Reason.SUBJECT_MISMATCH);
    assertThat(refusal("[1]".getBytes(StandardCharsets.UTF_8)))
        .isEqualTo(VerificationException.Reason.INVALID_MANIFEST);
    assertThatThrownBy(() -> entry("{".getBytes(StandardCharsets.UTF_8), MediaTypes.OCI_MANIFEST))
        .isInstanceOf(VerificationException.class);
  }
}
