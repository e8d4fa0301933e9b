package dev.ociproxy.core.airgap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ociproxy.core.oci.Descriptor;
import dev.ociproxy.core.oci.Digest;
import java.util.List;
import org.junit.jupiter.api.Test;

class ImageRefTest {
  private static final List<String> UPSTREAMS = List.of("up.test", "mirror", "localhost:5000");
  private static final String DIGEST = "sha256:" + "ab".repeat(32);

  private static ImageRef parse(String s) {
    return ImageRef.parse(s, UPSTREAMS, "up.test");
  }

  @Test
  void upstreamPrefix_namesTheUpstream_andTheRestIsRepositoryAndTag() {
    ImageRef r = parse("mirror/library/alpine:3.20");
    assertThat(r.upstream()).isEqualTo("mirror");
    assertThat(r.repository().value()).isEqualTo("library/alpine");
    assertThat(r.tag().value()).isEqualTo("3.20");
    assertThat(r.digest()).isNull();
    assertThat(r).hasToString("mirror/library/alpine:3.20");
  }

  @Test
  void referenceWithoutUpstreamPrefix_meansTheDefaultUpstream() {
    ImageRef r = parse("test/hello:v1");
    assertThat(r.upstream()).isEqualTo("up.test");
    assertThat(r.repository().value()).isEqualTo("test/hello");
  }

  @Test
  void upstreamWithPort_isRecognised_andItsColonIsNotATag() {
    ImageRef r = parse("localhost:5000/app");
    assertThat(r.upstream()).isEqualTo("localhost:5000");
    assertThat(r.repository().value()).isEqualTo("app");
    assertThat(r.tag().value()).isEqualTo("latest");
  }

  @Test
  void digestReference_hasNoTag_andAsksByDigest() {
    ImageRef r = parse("up.test/test/hello@" + DIGEST);
    assertThat(r.tag()).isNull();
    assertThat(r.reference()).isEqualTo(Digest.parse(DIGEST));
  }

  @Test
  void tagAndDigest_keepTheTagAsName_butAskByDigest() {
    ImageRef r = parse("test/hello:v1@" + DIGEST);
    assertThat(r.tag().value()).isEqualTo("v1");
    assertThat(r.reference()).isEqualTo(Digest.parse(DIGEST));
    assertThat(r.repositoryReference()).isEqualTo("test/hello:v1@" + DIGEST);
  }

  @Test
  void hostLikeFirstComponentThatIsNotConfigured_isRefusedRatherThanTakenAsRepository() {
    assertThatThrownBy(() -> parse("registry.other.io/library/alpine:3"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unknown upstream 'registry.other.io'")
        .hasMessageContaining("up.test");
  }

  @Test
  void noPrefixAndNoDefaultUpstream_isRefused() {
    assertThatThrownBy(() -> ImageRef.parse("test/hello:v1", UPSTREAMS, null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("names no upstream");
  }

  @Test
  void invalidRepositoryOrDigest_isRefusedNamingTheReference() {
    assertThatThrownBy(() -> parse("Test/Hello:v1"))
        .hasMessageContaining("reference 'Test/Hello:v1'");
    assertThatThrownBy(() -> parse("test/hello@sha256:abc")).hasMessageContaining("invalid digest");
  }

  @Test
  void platformWithoutVariant_matchesEveryVariant_butNotOtherArchitectures() {
    Platform arm = Platform.parse("linux/arm64");
    assertThat(arm.matches(new Descriptor.Platform("linux", "arm64", "v8"))).isTrue();
    assertThat(arm.matches(new Descriptor.Platform("linux", "amd64", null))).isFalse();
    assertThat(arm.matches(null)).isFalse();
  }

  @Test
  void platformWithVariant_matchesOnlyThatVariant() {
    Platform v7 = Platform.parse("linux/arm/v7");
    assertThat(v7.matches(new Descriptor.Platform("linux", "arm", "v7"))).isTrue();
    assertThat(v7.matches(new Descriptor.Platform("linux", "arm", "v6"))).isFalse();
    assertThat(v7).hasToString("linux/arm/v7");
  }

  @Test
  void malformedPlatform_isRefused() {
    assertThatThrownBy(() -> Platform.parse("linux"))
        .hasMessageContaining("expected os/architecture");
    assertThatThrownBy(() -> Platform.parse("linux//v7"))
        .hasMessageContaining("expected os/architecture");
  }
}
