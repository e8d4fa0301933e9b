package dev.ociproxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.it.support.Http;
import dev.ociproxy.it.support.OciImage;
import dev.ociproxy.it.support.OciImages;
import dev.ociproxy.it.support.ProcessGuard;
import dev.ociproxy.it.support.Skopeo;
import dev.ociproxy.it.support.UpstreamRegistry;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Proves the harness's real parts work together without the proxy: registry, generated images, clients. */
@ExtendWith(ProcessGuard.class)
class HarnessIT {

  @TempDir Path tmp;

  @Test
  void pushedSingleArchImage_isCopiedBySkopeo_withTheSameDigests() {
    UpstreamRegistry.availability().and(Skopeo.availability()).assumeAvailable();
    OciImage image = OciImages.singleArch(tmp.resolve("layout"), "v1", 3 * 1024 * 1024, 100_000);
    try (UpstreamRegistry registry = UpstreamRegistry.startOpen()) {
      Skopeo.push(image, registry, "test/hello:v1");

      Skopeo.DirImage copied = Skopeo.copyToDir(registry.hostPort() + "/test/hello:v1", tmp.resolve("dir"), null, false);

      assertThat(copied.manifestDigest()).isEqualTo(image.manifestDigest());
      assertThat(copied.storedDigests()).containsExactlyInAnyOrderElementsOf(image.image().allDigests());
      assertThat(Http.getManifest(registry.url() + "/v2/test/hello/manifests/v1").headers()
          .firstValue("Docker-Content-Digest")).contains(image.manifestDigest());
    }
  }
}
