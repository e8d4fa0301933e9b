package dev.ociproxy.core.airgap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PinsTest {
  private static final List<String> UPSTREAMS = List.of("up.test", "other.test");
  private static final String A = "sha256:" + "a".repeat(64);
  private static final String B = "sha256:" + "b".repeat(64);

  private static Pins pins(Map<String, String> m) {
    return Pins.of(m, UPSTREAMS, "up.test");
  }

  @Test
  void entriesWithoutUpstream_belongToTheDefaultUpstream() {
    Pins p = pins(Map.of("test/app:v1", A, "other.test/test/app:v1", B));
    assertThat(p.get("up.test", new RepositoryName("test/app"), new Tag("v1")))
        .isEqualTo(Digest.parse(A));
    assertThat(p.get("other.test", new RepositoryName("test/app"), new Tag("v1")))
        .isEqualTo(Digest.parse(B));
    assertThat(p.get("up.test", new RepositoryName("test/app"), new Tag("v2"))).isNull();
  }

  @Test
  void digestsAndTags_areListedPerRepository() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("up.test/test/app:v1", A);
    m.put("up.test/test/app:v2", B);
    m.put("up.test/test/other:v1", B);
    Pins p = pins(m);
    assertThat(p.tags("up.test", new RepositoryName("test/app"))).containsExactly("v1", "v2");
    assertThat(p.digests("up.test", new RepositoryName("test/app")))
        .containsExactly(Digest.parse(A), Digest.parse(B));
  }

  @Test
  void keyWithoutTag_orWithDigest_isRefused() {
    assertThatThrownBy(() -> pins(Map.of("up.test/test/app", A)))
        .hasMessageContaining("expected upstream/repo:tag");
    assertThatThrownBy(() -> pins(Map.of("up.test/test/app@" + A, A)))
        .hasMessageContaining("expected upstream/repo:tag");
  }

  @Test
  void valueThatIsNotADigest_isRefusedNamingTheKey() {
    assertThatThrownBy(() -> pins(Map.of("test/app:v1", "latest")))
        .hasMessageContaining("pin 'test/app:v1'")
        .hasMessageContaining("expected sha256:");
  }

  @Test
  void sameTagPinnedTwiceToDifferentDigests_isRefused() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("test/app:v1", A);
    m.put("up.test/test/app:v1", B);
    assertThatThrownBy(() -> pins(m)).hasMessageContaining("pinned twice");
  }

  @Test
  void pinFile_reloadsChangedContent_andKeepsTheOldPinsWhenTheNewFileIsBroken(@TempDir Path dir)
      throws Exception {
    Path f = dir.resolve("pins.json");
    Files.writeString(f, "{\"test/app:v1\": \"" + A + "\"}");
    PinFile file = PinFile.load(f, Images::parseJsonPins, UPSTREAMS, "up.test");
    RepositoryName repo = new RepositoryName("test/app");
    assertThat(file.reloadIfChanged()).isFalse();

    Files.writeString(f, "{\"test/app:v1\": \"" + B + "\"}");
    assertThat(file.reloadIfChanged()).isTrue();
    assertThat(file.pins().get("up.test", repo, new Tag("v1"))).isEqualTo(Digest.parse(B));

    Files.writeString(f, "{\"test/app:v1\": \"not-a-digest\"}");
    assertThat(file.reloadIfChanged()).isFalse();
    assertThat(file.pins().get("up.test", repo, new Tag("v1"))).isEqualTo(Digest.parse(B));
  }

  @Test
  void unreadablePinFile_failsTheLoadNamingTheFile(@TempDir Path dir) {
    Path missing = dir.resolve("nope.yaml");
    assertThatThrownBy(() -> PinFile.load(missing, Images::parseJsonPins, UPSTREAMS, "up.test"))
        .hasMessageContaining("pins: cannot read " + missing);
  }
}
