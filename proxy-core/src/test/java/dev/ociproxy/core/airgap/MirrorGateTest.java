package dev.ociproxy.core.airgap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.MediaTypes;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.registry.BlobSource;
import dev.ociproxy.core.registry.Manifest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Offline mode, pinned tags, pinned-only and drift, on a real {@code Mirror} and stub upstream. */
class MirrorGateTest {
  private static final String UP = MirrorFixture.UP;
  private static final RepositoryName APP = new RepositoryName("test/app");

  @TempDir Path tmp;
  MirrorFixture f;

  @AfterEach
  void close() {
    if (f != null) {
      f.close();
    }
  }

  private MirrorFixture fixture(Duration tagTtl) {
    f = new MirrorFixture(tmp.resolve("cache"), tagTtl);
    return f;
  }

  private Path pins(String json) throws Exception {
    Path p = tmp.resolve("pins.json");
    Files.writeString(p, json);
    return p;
  }

  private static AirgapOptions options(Set<String> offline, Set<String> pinnedOnly, Path pins) {
    return new AirgapOptions(offline, pinnedOnly, pins, List.of(), AirgapOptions.DEFAULT_WARM_INTERVAL);
  }

  private static <T> T get(CompletableFuture<T> f) throws Exception {
    return f.get(30, TimeUnit.SECONDS);
  }

  private static RegistryException failure(CompletableFuture<?> f) {
    try {
      f.get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      return (RegistryException) e.getCause();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    throw new AssertionError("expected a failure");
  }

  private Manifest manifest(String tag) throws Exception {
    return get(f.mirror.manifest(APP, new Tag(tag), MediaTypes.ALL_MANIFESTS));
  }

  @Test
  void offlineMirror_servesACachedTagWhateverItsAge_andNeverContactsTheUpstream() throws Exception {
    fixture(Duration.ZERO);
    Images.Image app = Images.cache(f.store, UP, Images.multiArch("test/app", "v1", 1));
    f.gate(options(Set.of(UP), Set.of(), null));

    assertThat(manifest("v1").digest()).isEqualTo(app.index());
    BlobSource blob = get(f.mirror.blob(APP, app.firstLayer(Images.AMD64)));
    assertThat(blob).isInstanceOf(BlobSource.Cached.class);
    ((BlobSource.Cached) blob).lease().close();
    assertThat(get(f.mirror.blobSize(APP, app.firstLayer(Images.ARM64)))).isPositive();
    assertThat(new String(get(f.mirror.tagList(APP, null)).json())).contains("\"v1\"");
    assertThat(f.up.requests()).isEmpty();
  }

  @Test
  void offlineMirror_answersWhatItDoesNotHoldWith404SayingTheUpstreamIsOffline() throws Exception {
    fixture(Duration.ofSeconds(30));
    Images.push(f.up, Images.multiArch("test/app", "v1", 1));
    f.gate(options(Set.of(UP), Set.of(), null));

    RegistryException m = failure(f.mirror.manifest(APP, new Tag("v1"), MediaTypes.ALL_MANIFESTS));
    assertThat(m.code()).isEqualTo(OciErrorCode.MANIFEST_UNKNOWN);
    assertThat(m.status()).isEqualTo(404);
    assertThat(m.getMessage()).contains("upstream up.test is offline");
    RegistryException b = failure(f.mirror.blob(APP, Digest.sha256(new byte[] {1})));
    assertThat(b.code()).isEqualTo(OciErrorCode.BLOB_UNKNOWN);
    assertThat(b.getMessage()).contains("offline");
    assertThat(f.up.requests()).isEmpty();
  }

  @Test
  void offlineMirror_doesNotServeContentCachedForAnotherRepository() throws Exception {
    fixture(Duration.ZERO);
    Images.Image other = Images.cache(f.store, UP, Images.multiArch("test/private", "v1", 1));
    f.gate(options(Set.of(UP), Set.of(), null));

    RegistryException m = failure(f.mirror.manifest(APP, other.index(), MediaTypes.ALL_MANIFESTS));
    RegistryException b = failure(f.mirror.blob(APP, other.firstLayer(Images.AMD64)));

    assertThat(m.status()).isEqualTo(404);
    assertThat(b.status()).isEqualTo(404);
    assertThat(get(f.mirror.manifest(new RepositoryName("test/private"), other.index(), List.of())).digest())
        .isEqualTo(other.index());
    assertThat(f.up.requests()).isEmpty();
  }

  @Test
  void pinnedTag_keepsServingThePin_afterTheUpstreamMovesTheTag_andTheDriftIsReported() throws Exception {
    fixture(Duration.ZERO);
    Images.Image v1 = Images.push(f.up, Images.multiArch("test/app", "v1", 1));
    f.gate(options(Set.of(), Set.of(), pins("{\"up.test/test/app:v1\": \"" + v1.index() + "\"}")));
    assertThat(manifest("v1").digest()).isEqualTo(v1.index());

    Images.Image moved = Images.push(f.up, Images.multiArch("test/app", "v1", 2));
    assertThat(manifest("v1").digest()).isEqualTo(v1.index());

    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (f.airgap.drift().current().isEmpty() && System.nanoTime() < deadline) {
      manifest("v1");
      Thread.sleep(200);
    }
    assertThat(f.airgap.drift().current()).singleElement().satisfies(d -> {
      assertThat(d.tag()).hasToString("up.test/test/app:v1");
      assertThat(d.pinned()).isEqualTo(v1.index());
      assertThat(d.upstream()).isEqualTo(moved.index());
    });
    assertThat(f.meters.get("registry_proxy_pins_drifted").gauge().value()).isEqualTo(1.0);
    assertThat(f.store.readManifest(moved.index())).as("the moved manifest is never cached").isNull();
  }

  @Test
  void pinnedTagThatIsNotCached_isFetchedByDigest_evenWhenTheUpstreamTagIsGone() throws Exception {
    fixture(Duration.ofSeconds(30));
    Images.Image v1 = Images.push(f.up, Images.multiArch("test/app", "v1", 1));
    f.up.removeTag("test/app", "v1");
    f.gate(options(Set.of(), Set.of(), pins("{\"test/app:v1\": \"" + v1.index() + "\"}")));

    assertThat(manifest("v1").digest()).isEqualTo(v1.index());
    assertThat(f.up.count("GET", "/v2/test/app/manifests/" + v1.index())).isEqualTo(1);
  }

  @Test
  void pinnedOnly_servesWhatAPinReaches_andRefusesEverythingElseWithoutAskingTheUpstream() throws Exception {
    fixture(Duration.ofSeconds(30));
    Images.Image pinned = Images.push(f.up, Images.multiArch("test/app", "v1", 1));
    Images.Image other = Images.push(f.up, Images.multiArch("test/app", "v2", 2));
    f.gate(options(Set.of(), Set.of(UP), pins("{\"test/app:v1\": \"" + pinned.index() + "\"}")));

    assertThat(manifest("v1").digest()).isEqualTo(pinned.index());
    Digest child = pinned.platform(Images.ARM64).manifest();
    assertThat(get(f.mirror.manifest(APP, child, MediaTypes.ALL_MANIFESTS)).digest()).isEqualTo(child);
    BlobSource layer = get(f.mirror.blob(APP, pinned.firstLayer(Images.ARM64)));
    if (layer instanceof BlobSource.Downloading d) {
      get(d.download().finished());
    }
    f.up.clearRequests();

    RegistryException tag = failure(f.mirror.manifest(APP, new Tag("v2"), MediaTypes.ALL_MANIFESTS));
    RegistryException digest = failure(f.mirror.manifest(APP, other.index(), MediaTypes.ALL_MANIFESTS));
    RegistryException blob = failure(f.mirror.blob(APP, other.firstLayer(Images.AMD64)));
    RegistryException elsewhere = failure(f.mirror.manifest(new RepositoryName("test/other"), pinned.index(), List.of()));
    for (RegistryException e : List.of(tag, digest, blob, elsewhere)) {
      assertThat(e.code()).isEqualTo(OciErrorCode.DENIED);
      assertThat(e.status()).isEqualTo(403);
      assertThat(e.getMessage()).contains("pinned-only");
    }
    assertThat(f.up.requests()).as("refused requests never reach the upstream").isEmpty();
    assertThat(new String(get(f.mirror.tagList(APP, null)).json())).contains("\"v1\"").doesNotContain("v2");
  }
}
