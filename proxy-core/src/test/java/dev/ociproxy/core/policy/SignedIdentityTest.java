package dev.ociproxy.core.policy;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SignedIdentityTest {
  private static final String D = "sha256:" + "a".repeat(64);

  private static DockerReference ref(String s) {
    return DockerReference.parse(s);
  }

  @Test
  void matchRepoDigestOrExact_byTagNeedsTheSameTag_byDigestTheSameRepository() {
    SignedIdentity id = new SignedIdentity.MatchRepoDigestOrExact();

    assertThat(id.matches(ref("reg.example.com/app:v1"), ref("reg.example.com/app:v1"))).isTrue();
    assertThat(id.matches(ref("reg.example.com/app:v1"), ref("reg.example.com/app:v2"))).isFalse();
    assertThat(id.matches(ref("reg.example.com/app:v1"), ref("reg.example.com/app")))
        .as("cosign's tagless identity does not match a tag request (as in containers/image)")
        .isFalse();
    assertThat(id.matches(ref("reg.example.com/app@" + D), ref("reg.example.com/app:v9"))).isTrue();
    assertThat(id.matches(ref("reg.example.com/app@" + D), ref("reg.example.com/other"))).isFalse();
  }

  @Test
  void matchRepository_acceptsAnyTagOfTheRepository_andDockerHubNamesAreNormalised() {
    SignedIdentity id = new SignedIdentity.MatchRepository();

    assertThat(id.matches(ref("reg.example.com/app:v1"), ref("reg.example.com/app"))).isTrue();
    assertThat(id.matches(ref("reg.example.com/app:v1"), ref("reg.example.com/app2"))).isFalse();
    assertThat(id.matches(ref("docker.io/library/busybox:1"), ref("busybox"))).isTrue();
    assertThat(
            id.matches(ref("docker.io/library/busybox:1"), ref("index.docker.io/library/busybox")))
        .isTrue();
  }

  @Test
  void exactRepository_wantsTheConfiguredRepositoryWhateverTheImageIsCalledHere() {
    SignedIdentity id = new SignedIdentity.ExactRepository("vendor.example.com/app");

    assertThat(id.matches(ref("mirror.local/app:v1"), ref("vendor.example.com/app:v1"))).isTrue();
    assertThat(id.matches(ref("mirror.local/app:v1"), ref("mirror.local/app:v1"))).isFalse();
  }

  @Test
  void remapIdentity_looksForTheSignedPrefix_onWholePathComponentsOnly() {
    SignedIdentity id =
        new SignedIdentity.RemapIdentity("mirror.local/vendor", "vendor.example.com");

    assertThat(id.matches(ref("mirror.local/vendor/app:v1"), ref("vendor.example.com/app:v1")))
        .isTrue();
    assertThat(id.matches(ref("mirror.local/vendor/app@" + D), ref("vendor.example.com/app")))
        .isTrue();
    assertThat(id.matches(ref("mirror.local/vendor/app:v1"), ref("mirror.local/vendor/app:v1")))
        .as("the remapped name is the one that must have been signed")
        .isFalse();
    assertThat(id.matches(ref("mirror.local/vendorx/app:v1"), ref("vendor.example.comx/app:v1")))
        .isFalse();
    assertThat(id.matches(ref("mirror.local/vendorx/app:v1"), ref("mirror.local/vendorx/app:v1")))
        .as("outside the prefix: matched as the default")
        .isTrue();
  }

  @Test
  void matchExact_byDigestNeedsASignatureNamingThatDigest() {
    SignedIdentity id = new SignedIdentity.MatchExact();

    assertThat(id.matches(ref("reg.example.com/app@" + D), ref("reg.example.com/app@" + D)))
        .isTrue();
    assertThat(id.matches(ref("reg.example.com/app@" + D), ref("reg.example.com/app"))).isFalse();
  }
}
