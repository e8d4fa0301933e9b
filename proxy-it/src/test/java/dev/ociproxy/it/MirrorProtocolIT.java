package dev.ociproxy.it;

import static dev.ociproxy.it.ClientRig.OPEN;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.it.support.OciImage;
import dev.ociproxy.it.support.OciImages;
import dev.ociproxy.it.support.Platform;
import dev.ociproxy.it.support.ProcessGuard;
import dev.ociproxy.it.support.UpstreamRegistry;
import dev.ociproxy.testing.RawHttpClient;
import java.io.IOException;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The proxy answers the exact requests the real clients send (their Accept lists, HEAD before GET,
 * {@code ?ns=}) with the headers they rely on: {@code Docker-Content-Digest} and the manifest's own
 * {@code Content-Type} and {@code Content-Length} on HEAD as on GET, and {@code OCI-Namespace}
 * echoing the {@code ns} that chose the upstream.
 */
@ExtendWith(ProcessGuard.class)
class MirrorProtocolIT {
  /** What containerd 1.6 sends when it resolves a reference (HEAD, then GET by digest). */
  private static final String CONTAINERD_ACCEPT =
      "Accept: application/vnd.docker.distribution.manifest.v2+json, "
          + "application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, "
          + "application/vnd.oci.image.index.v1+json, */*";

  /** What Docker Engine 20.10 sends for a pull (one header per type). */
  private static final String[] DOCKER_ACCEPT = {
    "Accept: application/vnd.docker.distribution.manifest.v2+json",
    "Accept: application/vnd.docker.distribution.manifest.list.v2+json",
    "Accept: application/vnd.oci.image.index.v1+json",
    "Accept: application/vnd.oci.image.manifest.v1+json",
    "Accept: application/vnd.docker.distribution.manifest.v1+prettyjws",
    "Accept: application/json"
  };

  static ClientRig rig;
  static UpstreamRegistry upstream;
  static OciImage oci;
  static OciImage docker;

  @BeforeAll
  static void start() {
    ClientRig.availability().assumeAvailable();
    rig = ClientRig.start(OPEN);
    upstream = rig.startOpen();
    oci = OciImages.multiArch(rig.layout("oci"), "multi", 30_000);
    docker =
        OciImages.builder()
            .tag("docker")
            .layers(30_000)
            .dockerMediaTypes()
            .platforms(Platform.LINUX_AMD64, Platform.LINUX_ARM64)
            .build(rig.layout("docker"));
    rig.push(oci, upstream, "proto/oci");
    rig.push(docker, upstream, "proto/docker");
  }

  @AfterAll
  static void stop() {
    try {
      if (upstream != null) {
        upstream.close();
      }
    } finally {
      if (rig != null) {
        rig.close();
      }
    }
  }

  private static RawHttpClient.Response request(String method, String target, String... headers)
      throws IOException {
    try (RawHttpClient c =
        new RawHttpClient("127.0.0.1", rig.proxy.port(), Duration.ofSeconds(30))) {
      return c.exchange(method, target, headers);
    }
  }

  @Test
  void containerdHeadOfATag_carriesDigestTypeLengthAndNamespace_andTheGetByDigestMatchesIt()
      throws IOException {
    OciImage.Blob index = oci.index().orElseThrow();

    RawHttpClient.Response head =
        request("HEAD", "/v2/proto/oci/manifests/multi?ns=" + OPEN, CONTAINERD_ACCEPT);
    RawHttpClient.Response get =
        request(
            "GET", "/v2/proto/oci/manifests/" + index.digest() + "?ns=" + OPEN, CONTAINERD_ACCEPT);

    assertThat(head.status()).isEqualTo(200);
    assertThat(head.body()).isEmpty();
    assertThat(head.header("Docker-Content-Digest")).contains(index.digest());
    assertThat(head.header("Content-Type")).contains(OciImages.OCI_INDEX);
    assertThat(head.header("Content-Length")).contains(Long.toString(index.size()));
    assertThat(head.header("OCI-Namespace")).contains(OPEN);
    assertThat(get.status()).isEqualTo(200);
    assertThat(CacheAssertions.sha256(get.body())).isEqualTo(index.digest());
    assertThat(get.header("Docker-Content-Digest")).contains(index.digest());
    assertThat(get.header("Content-Type")).contains(OciImages.OCI_INDEX);
    assertThat(get.header("OCI-Namespace")).contains(OPEN);
  }

  @Test
  void blobHeadAndGetWithNs_carryLengthDigestAndNamespace() throws IOException {
    OciImage.Blob layer = oci.image(Platform.LINUX_ARM64).layers().get(0);
    String target = "/v2/proto/oci/blobs/" + layer.digest() + "?ns=" + OPEN;

    RawHttpClient.Response head = request("HEAD", target);
    RawHttpClient.Response get = request("GET", target);

    assertThat(head.status()).isEqualTo(200);
    assertThat(head.header("Content-Length")).contains(Long.toString(layer.size()));
    assertThat(head.header("Docker-Content-Digest")).contains(layer.digest());
    assertThat(head.header("OCI-Namespace")).contains(OPEN);
    assertThat(get.status()).isEqualTo(200);
    assertThat(get.complete()).isTrue();
    assertThat(CacheAssertions.sha256(get.body())).isEqualTo(layer.digest());
    assertThat(get.header("OCI-Namespace")).contains(OPEN);
  }

  @Test
  void dockerHeadOfATagOnTheDefaultUpstream_getsTheDockerListType_andNoNamespace()
      throws IOException {
    OciImage.Blob list = docker.index().orElseThrow();
    OciImage.Blob amd64 = docker.image(Platform.LINUX_AMD64).manifest();

    RawHttpClient.Response head =
        request("HEAD", "/v2/proto/docker/manifests/docker", DOCKER_ACCEPT);
    RawHttpClient.Response child =
        request("GET", "/v2/proto/docker/manifests/" + amd64.digest(), DOCKER_ACCEPT);

    assertThat(head.status()).isEqualTo(200);
    assertThat(head.header("Content-Type")).contains(OciImages.DOCKER_LIST);
    assertThat(head.header("Docker-Content-Digest")).contains(list.digest());
    assertThat(head.header("Content-Length")).contains(Long.toString(list.size()));
    assertThat(head.header("OCI-Namespace")).isEmpty();
    assertThat(child.status()).isEqualTo(200);
    assertThat(child.header("Content-Type")).contains(OciImages.DOCKER_MANIFEST);
    assertThat(CacheAssertions.sha256(child.body())).isEqualTo(amd64.digest());
  }

  @Test
  void apiRoot_announcesTheRegistryApiVersion_andAnUnknownNsIsNotEchoed() throws IOException {
    RawHttpClient.Response root = request("GET", "/v2/");
    RawHttpClient.Response unknown =
        request("HEAD", "/v2/proto/oci/manifests/multi?ns=unknown.example.com", CONTAINERD_ACCEPT);

    assertThat(root.status()).isEqualTo(200);
    assertThat(root.header("Docker-Distribution-API-Version")).contains("registry/2.0");
    assertThat(unknown.status()).isEqualTo(404);
    assertThat(unknown.header("OCI-Namespace")).isEmpty();
  }
}
