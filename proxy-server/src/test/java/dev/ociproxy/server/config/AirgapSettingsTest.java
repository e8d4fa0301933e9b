package dev.ociproxy.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ociproxy.core.airgap.AirgapOptions;
import dev.ociproxy.core.airgap.Attached;
import dev.ociproxy.core.airgap.Platform;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AirgapSettingsTest {
  private static final String UPSTREAMS =
      """
      upstreams:
        - name: up.test
          url: http://127.0.0.1:5000
          default: true
        - name: other.test
          url: http://127.0.0.1:5001
      """;

  private static ProxyConfig parse(String yaml) {
    return new ConfigLoader(k -> null).parse(yaml);
  }

  @Test
  void configWithoutAirgapKeys_hasNoAirgapSettings() {
    AirgapOptions a = parse(UPSTREAMS).airgap();
    assertThat(a.offlineUpstreams()).isEmpty();
    assertThat(a.pinnedOnlyUpstreams()).isEmpty();
    assertThat(a.pinsFile()).isNull();
    assertThat(a.warm()).isEmpty();
  }

  @Test
  void globalOffline_makesEveryUpstreamOffline_unlessAnUpstreamSaysOtherwise() {
    AirgapOptions a = parse("offline: true\n" + UPSTREAMS + "    offline: false\n").airgap();
    assertThat(a.offlineUpstreams()).containsExactly("up.test");
  }

  @Test
  void pinnedOnlyPolicy_needsAPinFile(@TempDir Path dir) throws Exception {
    assertThatThrownBy(() -> parse("policy: pinned-only\n" + UPSTREAMS))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("pinned-only needs a pin file");
    Path pins = Files.writeString(dir.resolve("pins.yaml"), "{}");
    AirgapOptions a =
        parse("pins: " + pins + "\n" + UPSTREAMS + "    policy: pinned-only\n").airgap();
    assertThat(a.pinnedOnlyUpstreams()).containsExactly("other.test");
    assertThat(a.pinsFile()).isEqualTo(pins);
  }

  @Test
  void unknownPolicyOrNonBooleanOffline_isRefusedNamingTheKey() {
    assertThatThrownBy(() -> parse("policy: strict\n" + UPSTREAMS))
        .hasMessageContaining("policy: 'strict' (expected open or pinned-only)");
    assertThatThrownBy(() -> parse(UPSTREAMS + "    offline: maybe\n"))
        .hasMessageContaining("upstreams[1].offline");
  }

  @Test
  void warmList_takesReferencesAndPlatforms_resolvedAgainstTheUpstreams() {
    AirgapOptions a =
        parse(
                UPSTREAMS
                    + """
        warm:
          - ref: other.test/library/alpine:3.20
            platforms: [linux/amd64, linux/arm64/v8]
          - test/hello:v1
        warmInterval: 15m
        """)
            .airgap();
    assertThat(a.warm()).hasSize(2);
    assertThat(a.warm().get(0).ref()).hasToString("other.test/library/alpine:3.20");
    assertThat(a.warm().get(0).platforms())
        .containsExactlyInAnyOrder(Platform.parse("linux/amd64"), Platform.parse("linux/arm64/v8"));
    assertThat(a.warm().get(1).ref()).hasToString("up.test/test/hello:v1");
    assertThat(a.warmInterval()).isEqualTo(Duration.ofMinutes(15));
  }

  @Test
  void warmEntry_takesReferrersOfSomeArtifactTypes_orSignatures_andTypesNeedReferrers() {
    AirgapOptions a =
        parse(
                UPSTREAMS
                    + """
        warm:
          - ref: test/hello:v1
            referrers: true
            artifactTypes: [application/spdx+json]
          - test/plain:v1
          - ref: test/signed:v1
            signatures: true
        """)
            .airgap();
    assertThat(a.warm().get(0).attached())
        .isEqualTo(new Attached(true, Set.of("application/spdx+json"), false));
    assertThat(a.warm().get(1).attached()).isEqualTo(Attached.NONE);
    assertThat(a.warm().get(2).attached()).isEqualTo(new Attached(false, Set.of(), true));
    assertThatThrownBy(
            () ->
                parse(
                    UPSTREAMS
                        + "warm:\n  - ref: test/hello:v1\n    artifactTypes: [application/spdx+json]\n"))
        .hasMessageContaining("warm[0].artifactTypes");
  }

  @Test
  void badWarmEntry_isRefusedNamingItsIndex() {
    assertThatThrownBy(() -> parse(UPSTREAMS + "warm:\n  - far.away.io/x:1\n"))
        .hasMessageContaining("warm[0]: reference 'far.away.io/x:1'");
    assertThatThrownBy(
            () -> parse(UPSTREAMS + "warm:\n  - ref: test/x:1\n    platform: linux/amd64\n"))
        .hasMessageContaining("warm[0].platform: unknown key");
  }

  @Test
  void pinFile_isReadAsYamlOrJson_withOrWithoutAPinsKey() throws Exception {
    String d = "sha256:" + "a".repeat(64);
    assertThat(PinFileFormat.parse(("\"up.test/a:v1\": \"" + d + "\"\n").getBytes()))
        .isEqualTo(Map.of("up.test/a:v1", d));
    assertThat(PinFileFormat.parse(("{\"pins\": {\"a:v1\": \"" + d + "\"}}").getBytes()))
        .isEqualTo(Map.of("a:v1", d));
    assertThatThrownBy(() -> PinFileFormat.parse("a:v1: [1]\n".getBytes()))
        .hasMessageContaining("expected a digest string");
  }
}
