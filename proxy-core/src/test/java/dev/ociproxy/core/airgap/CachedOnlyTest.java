package dev.ociproxy.core.airgap;

import static dev.ociproxy.core.airgap.MirrorFixture.failure;
import static dev.ociproxy.core.airgap.MirrorFixture.get;
import static dev.ociproxy.core.airgap.MirrorFixture.options;
import static org.assertj.core.api.Assertions.assertThat;

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
 * An offline upstream ({@link CachedOnly}) over a real pull-through and a stub upstream it never
 * contacts.
 */
class CachedOnlyTest {
  private static final String UP = MirrorFixture.UP;
  private static final RepositoryName APP = new RepositoryName("test/app");

  @TempDir Path tmp;
  @AutoClose MirrorFixture f;

  @Test
  void offlineMirror_servesACachedTagWhateverItsAge_andNeverContactsTheUpstream() throws Exception {
    f = new MirrorFixture(tmp.resolve("cache"), Duration.ZERO);
    Images.Image app = Images.cache(f.store, UP, Images.multiArch("test/app", "v1", 1));
    f.gate(options(Set.of(UP), Set.of(), null));

    assertThat(f.manifest(APP, "v1").digest()).isEqualTo(app.index());
    BlobSource blob = get(f.registry().blob(APP, app.firstLayer(Images.AMD64)));
    assertThat(blob).isInstanceOf(BlobSource.Cached.class);
    ((BlobSource.Cached) blob).lease().close();
    assertThat(get(f.registry().blobSize(APP, app.firstLayer(Images.ARM64)))).isPositive();
    assertThat(new String(get(f.registry().tagList(APP, null)).json())).contains("\"v1\"");
    assertThat(f.up.requests()).isEmpty();
  }

  @Test
  void offlineMirror_answersWhatItDoesNotHoldWith404SayingTheUpstreamIsOffline() throws Exception {
    f = new MirrorFixture(tmp.resolve("cache"), Duration.ofSeconds(30));
    Images.push(f.up, Images.multiArch("test/app", "v1", 1));
    f.gate(options(Set.of(UP), Set.of(), null));

    RegistryException m =
        failure(f.registry().manifest(APP, new Tag("v1"), MediaTypes.ALL_MANIFESTS));
    assertThat(m.code()).isEqualTo(OciErrorCode.MANIFEST_UNKNOWN);
    assertThat(m.status()).isEqualTo(404);
    assertThat(m.getMessage()).contains("upstream up.test is offline");
    RegistryException b = failure(f.registry().blob(APP, Digest.sha256(new byte[] {1})));
    assertThat(b.code()).isEqualTo(OciErrorCode.BLOB_UNKNOWN);
    assertThat(b.getMessage()).contains("offline");
    assertThat(f.up.requests()).isEmpty();
  }

  @Test
  void offlineMirror_doesNotServeContentCachedForAnotherRepository() throws Exception {
    f = new MirrorFixture(tmp.resolve("cache"), Duration.ZERO);
    Images.Image other = Images.cache(f.store, UP, Images.multiArch("test/private", "v1", 1));
    f.gate(options(Set.of(UP), Set.of(), null));

    RegistryException m =
        failure(f.registry().manifest(APP, other.index(), MediaTypes.ALL_MANIFESTS));
    RegistryException b = failure(f.registry().blob(APP, other.firstLayer(Images.AMD64)));

    assertThat(m.status()).isEqualTo(404);
    assertThat(b.status()).isEqualTo(404);
    assertThat(
            get(f.registry().manifest(new RepositoryName("test/private"), other.index(), List.of()))
                .digest())
        .isEqualTo(other.index());
    assertThat(f.up.requests()).isEmpty();
  }
}
