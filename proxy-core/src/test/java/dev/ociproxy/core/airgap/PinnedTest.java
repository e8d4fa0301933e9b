package dev.ociproxy.core.airgap;

import static dev.ociproxy.core.airgap.MirrorFixture.failure;
import static dev.ociproxy.core.airgap.MirrorFixture.get;
import static dev.ociproxy.core.airgap.MirrorFixture.options;
import static dev.ociproxy.core.airgap.MirrorFixture.pinFile;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.MediaTypes;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.registry.BlobSource;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pinned tags, pinned-only and drift ({@link Pinned}) over a real pull-through and stub upstream.
 */
class PinnedTest {
  private static final String UP = MirrorFixture.UP;
  private static final RepositoryName APP = new RepositoryName("test/app");

  @TempDir Path tmp;
  @AutoClose MirrorFixture f;

  @Test
  void pinnedTag_keepsServingThePin_afterTheUpstreamMovesTheTag_andTheDriftIsReported()
      throws Exception {
    f = new MirrorFixture(tmp.resolve("cache"), Duration.ZERO);
    Images.Image v1 = Images.push(f.up, Images.multiArch("test/app", "v1", 1));
    f.gate(
        options(
            Set.of(), Set.of(), pinFile(tmp, "{\"up.test/test/app:v1\": \"" + v1.index() + "\"}")));
    assertThat(f.manifest(APP, "v1").digest()).isEqualTo(v1.index());

    Images.Image moved = Images.push(f.up, Images.multiArch("test/app", "v1", 2));
    assertThat(f.manifest(APP, "v1").digest()).isEqualTo(v1.index());

    await("a drift")
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(200))
        .until(
            () -> {
              f.manifest(APP, "v1");
              return !f.airgap.drift().current().isEmpty();
            });
    assertThat(f.airgap.drift().current())
        .singleElement()
        .satisfies(
            d -> {
              assertThat(d.tag()).hasToString("up.test/test/app:v1");
              assertThat(d.pinned()).isEqualTo(v1.index());
              assertThat(d.upstream()).isEqualTo(moved.index());
            });
    assertThat(f.meters.get("registry_proxy_pins_drifted").gauge().value()).isEqualTo(1.0);
    assertThat(f.store.readManifest(moved.index()))
        .as("the moved manifest is never cached")
        .isNull();
  }

  @Test
  void pinnedTagThatIsNotCached_isFetchedByDigest_evenWhenTheUpstreamTagIsGone() throws Exception {
    f = new MirrorFixture(tmp.resolve("cache"), Duration.ofSeconds(30));
    Images.Image v1 = Images.push(f.up, Images.multiArch("test/app", "v1", 1));
    f.up.removeTag("test/app", "v1");
    f.gate(options(Set.of(), Set.of(), pinFile(tmp, "{\"test/app:v1\": \"" + v1.index() + "\"}")));

    assertThat(f.manifest(APP, "v1").digest()).isEqualTo(v1.index());
    assertThat(f.up.count("GET", "/v2/test/app/manifests/" + v1.index())).isEqualTo(1);
  }

  @Test
  void pinnedOnly_servesWhatAPinReaches_andRefusesEverythingElseWithoutAskingTheUpstream()
      throws Exception {
    f = new MirrorFixture(tmp.resolve("cache"), Duration.ofSeconds(30));
    Images.Image pinned = Images.push(f.up, Images.multiArch("test/app", "v1", 1));
    Images.Image other = Images.push(f.up, Images.multiArch("test/app", "v2", 2));
    f.gate(
        options(
            Set.of(), Set.of(UP), pinFile(tmp, "{\"test/app:v1\": \"" + pinned.index() + "\"}")));

    assertThat(f.manifest(APP, "v1").digest()).isEqualTo(pinned.index());
    Digest child = pinned.platform(Images.ARM64).manifest();
    assertThat(get(f.registry().manifest(APP, child, MediaTypes.ALL_MANIFESTS)).digest())
        .isEqualTo(child);
    BlobSource layer = get(f.registry().blob(APP, pinned.firstLayer(Images.ARM64)));
    if (layer instanceof BlobSource.Downloading d) {
      get(d.download().finished());
    }
    f.up.clearRequests();

    RegistryException tag =
        failure(f.registry().manifest(APP, new Tag("v2"), MediaTypes.ALL_MANIFESTS));
    RegistryException digest =
        failure(f.registry().manifest(APP, other.index(), MediaTypes.ALL_MANIFESTS));
    RegistryException blob = failure(f.registry().blob(APP, other.firstLayer(Images.AMD64)));
    RegistryException elsewhere =
        failure(f.registry().manifest(new RepositoryName("test/other"), pinned.index(), List.of()));
    for (RegistryException e : List.of(tag, digest, blob, elsewhere)) {
      assertThat(e.code()).isEqualTo(OciErrorCode.DENIED);
      assertThat(e.status()).isEqualTo(403);
      assertThat(e.getMessage()).contains("pinned-only");
    }
    assertThat(tag.getMessage())
        .isEqualTo(
            UP
                + "/test/app:v2 is not pinned, and upstream "
                + UP
                + " serves pinned images only (policy: pinned-only)");
    assertThat(digest.getMessage())
        .isEqualTo(
            UP
                + "/test/app@"
                + other.index()
                + " is not reachable from any pin, and upstream "
                + UP
                + " serves pinned images only (policy: pinned-only)");
    assertThat(f.up.requests()).as("refused requests never reach the upstream").isEmpty();
    assertThat(new String(get(f.registry().tagList(APP, null)).json()))
        .contains("\"v1\"")
        .doesNotContain("v2");
  }

  @Test
  void pinsOverAnOfflineUpstream_listThePinnedAndTheCachedTags_andServeThePinFromTheCache()
      throws Exception {
    f = new MirrorFixture(tmp.resolve("cache"), Duration.ZERO);
    Images.Image app = Images.cache(f.store, UP, Images.multiArch("test/app", "v1", 1));
    f.gate(
        options(
            Set.of(UP), Set.of(), pinFile(tmp, "{\"test/app:stable\": \"" + app.index() + "\"}")));

    assertThat(f.manifest(APP, "stable").digest()).isEqualTo(app.index());
    assertThat(new String(get(f.registry().tagList(APP, null)).json()))
        .contains("\"stable\"", "\"v1\"");
    assertThat(f.up.requests()).isEmpty();
  }
}
