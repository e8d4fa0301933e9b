package dev.ociproxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.it.support.CommandResult;
import dev.ociproxy.it.support.Containerd;
import dev.ociproxy.it.support.Credentials;
import dev.ociproxy.it.support.Dockerd;
import dev.ociproxy.it.support.Htpasswd;
import dev.ociproxy.it.support.Http;
import dev.ociproxy.it.support.OciImage;
import dev.ociproxy.it.support.OciImages;
import dev.ociproxy.it.support.Platform;
import dev.ociproxy.it.support.Podman;
import dev.ociproxy.it.support.ProcessGuard;
import dev.ociproxy.it.support.ProxyProcess;
import dev.ociproxy.it.support.Skopeo;
import dev.ociproxy.it.support.TokenServer;
import dev.ociproxy.it.support.UpstreamRegistry;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Proves the harness's real parts work together without our proxy: a real registry, generated OCI
 * images, and each real client storing exactly the digests that were pushed.
 */
@ExtendWith(ProcessGuard.class)
class HarnessIT {

  private static final int MIB = 1024 * 1024;

  @TempDir Path tmp;

  @Test
  void singleArchImage_pushedToRegistry_isCopiedBySkopeoWithTheSameDigests() {
    UpstreamRegistry.availability().and(Skopeo.availability()).assumeAvailable();
    OciImage image = OciImages.singleArch(tmp.resolve("layout"), "v1", 3 * MIB, 100_000);
    try (UpstreamRegistry registry = UpstreamRegistry.startOpen()) {
      Skopeo.push(image, registry, "test/hello:v1");

      Skopeo.DirImage copied =
          Skopeo.copyToDir(registry.hostPort() + "/test/hello:v1", tmp.resolve("dir"), null, false);

      assertThat(copied.manifestDigest()).isEqualTo(image.manifestDigest());
      assertThat(copied.storedDigests())
          .containsExactlyInAnyOrderElementsOf(image.image().allDigests());
      assertThat(
              Http.getManifest(registry.url() + "/v2/test/hello/manifests/v1")
                  .headers()
                  .firstValue("Docker-Content-Digest"))
          .contains(image.manifestDigest());
    }
  }

  @Test
  void multiArchIndex_pushedWithAll_keepsIndexDigest_andSkopeoCopiesEveryPlatform() {
    UpstreamRegistry.availability().and(Skopeo.availability()).assumeAvailable();
    OciImage image = OciImages.multiArch(tmp.resolve("layout"), "multi", MIB, 10_000);
    try (UpstreamRegistry registry = UpstreamRegistry.startOpen()) {
      Skopeo.push(image, registry, "test/hello:multi");

      String raw = Skopeo.inspectRaw(registry.hostPort() + "/test/hello:multi", null);
      Skopeo.DirImage copied =
          Skopeo.copyToDir(
              registry.hostPort() + "/test/hello:multi", tmp.resolve("dir"), null, true);

      assertThat(sha256(raw)).isEqualTo(image.digest());
      assertThat(image.index()).isPresent();
      assertThat(copied.manifestDigest()).isEqualTo(image.digest());
      assertThat(copied.storedDigests()).containsExactlyInAnyOrderElementsOf(image.allDigests());
    }
  }

  @Test
  void manySmallLayers_andDockerMediaTypes_roundTripThroughTheRegistry() {
    UpstreamRegistry.availability().and(Skopeo.availability()).assumeAvailable();
    OciImage many = OciImages.manySmallLayers(tmp.resolve("layout"), "many", 40, 2_000);
    OciImage docker =
        OciImages.builder()
            .tag("docker")
            .layers(50_000, 60_000)
            .dockerMediaTypes()
            .platforms(Platform.LINUX_AMD64, Platform.LINUX_ARM64)
            .build(tmp.resolve("layout"));
    try (UpstreamRegistry registry = UpstreamRegistry.startOpen()) {
      Skopeo.push(many, registry, "test/many:v1");
      Skopeo.push(docker, registry, "test/docker:v1");

      Skopeo.DirImage manyCopy =
          Skopeo.copyToDir(registry.hostPort() + "/test/many:v1", tmp.resolve("d1"), null, false);
      HttpResponse<byte[]> list = Http.getManifest(registry.url() + "/v2/test/docker/manifests/v1");

      assertThat(many.image().layers()).hasSize(40);
      assertThat(manyCopy.storedDigests())
          .containsExactlyInAnyOrderElementsOf(many.image().allDigests());
      assertThat(list.headers().firstValue("Content-Type")).contains(OciImages.DOCKER_LIST);
      assertThat(list.headers().firstValue("Docker-Content-Digest")).contains(docker.digest());
    }
  }

  @Test
  void registry_stoppedAndStartedAgain_servesTheSameDataOnTheSamePort_andCloseKillsItsPid() {
    UpstreamRegistry.availability().and(Skopeo.availability()).assumeAvailable();
    OciImage image = OciImages.singleArch(tmp.resolve("layout"), "v1", 200_000);
    long pid;
    try (UpstreamRegistry registry = UpstreamRegistry.startOpen()) {
      Skopeo.push(image, registry, "test/hello:v1");
      int port = registry.port();

      registry.stop();
      int whileStopped = Http.status(registry.url() + "/v2/");
      registry.start();

      assertThat(whileStopped).isEqualTo(-1);
      assertThat(registry.port()).isEqualTo(port);
      assertThat(
              Http.getManifest(
                      registry.url() + "/v2/test/hello/manifests/" + image.manifestDigest())
                  .statusCode())
          .isEqualTo(200);
      pid = registry.process().pid();
    }
    assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive))
        .isNotEqualTo(java.util.Optional.of(true));
  }

  @Test
  void registry_deletesAManifest_soNeitherTagNorDigestIsServedAnyMore() {
    UpstreamRegistry.availability().and(Skopeo.availability()).assumeAvailable();
    OciImage image = OciImages.singleArch(tmp.resolve("layout"), "v1", 10_000);
    try (UpstreamRegistry registry = UpstreamRegistry.startOpen()) {
      Skopeo.push(image, registry, "test/hello:v1");

      registry.deleteManifest("test/hello", image.manifestDigest());

      assertThat(
              Http.getManifest(
                      registry.url() + "/v2/test/hello/manifests/" + image.manifestDigest())
                  .statusCode())
          .isEqualTo(404);
      assertThat(Http.getManifest(registry.url() + "/v2/test/hello/manifests/v1").statusCode())
          .isEqualTo(404);
    }
  }

  @Test
  void htpasswdRegistry_refusesAnonymous_andServesTheUserWithCredentials() {
    UpstreamRegistry.availability()
        .and(Skopeo.availability())
        .and(Htpasswd.availability())
        .assumeAvailable();
    Credentials alice = new Credentials("alice", "s3cret-pass");
    OciImage image = OciImages.singleArch(tmp.resolve("layout"), "v1", 100_000);
    try (UpstreamRegistry registry = UpstreamRegistry.startWithHtpasswd(alice)) {
      Skopeo.push(image, registry, "test/private:v1");

      int anonymous = Http.status(registry.url() + "/v2/");
      int withBasic =
          Http.status(registry.url() + "/v2/", "Authorization", alice.basicAuthorization());
      CommandResult anonymousCopy =
          Skopeo.run(
              List.of(
                  "inspect",
                  "--raw",
                  "--tls-verify=false",
                  "docker://" + registry.hostPort() + "/test/private:v1"));
      Skopeo.DirImage copied =
          Skopeo.copyToDir(
              registry.hostPort() + "/test/private:v1", tmp.resolve("dir"), alice, false);

      assertThat(anonymous).isEqualTo(401);
      assertThat(withBasic).isEqualTo(200);
      assertThat(anonymousCopy.succeeded()).as(anonymousCopy.describe()).isFalse();
      assertThat(copied.storedDigests())
          .containsExactlyInAnyOrderElementsOf(image.image().allDigests());
    }
  }

  @Test
  void tokenAuthRegistry_challengesWithBearer_andAcceptsTokensFromTheTokenServer() {
    UpstreamRegistry.availability()
        .and(Skopeo.availability())
        .and(TokenServer.availability())
        .assumeAvailable();
    Credentials reader = new Credentials("reader", "reader-pass");
    OciImage image = OciImages.singleArch(tmp.resolve("layout"), "v1", 100_000);
    try (TokenServer tokens = TokenServer.start().grant(reader, "pull");
        UpstreamRegistry registry = UpstreamRegistry.startWithTokenAuth(tokens)) {
      Skopeo.push(image, registry, "test/private:v1");
      tokens.clearRequests();

      HttpResponse<byte[]> challenge =
          Http.tryGet(registry.url() + "/v2/test/private/manifests/v1").orElseThrow();
      Skopeo.DirImage copied =
          Skopeo.copyToDir(
              registry.hostPort() + "/test/private:v1", tmp.resolve("dir"), reader, false);
      CommandResult readerPush =
          Skopeo.run(
              List.of(
                  "copy",
                  "--dest-tls-verify=false",
                  "--dest-creds=" + reader.colonForm(),
                  image.ociReference(),
                  "docker://" + registry.hostPort() + "/test/private:pushed"));

      assertThat(challenge.statusCode()).isEqualTo(401);
      assertThat(challenge.headers().firstValue("WWW-Authenticate"))
          .hasValueSatisfying(
              h ->
                  assertThat(h)
                      .startsWith("Bearer ")
                      .contains("realm=\"" + tokens.realm() + "\"")
                      .contains("service=\"" + tokens.service()));
      assertThat(copied.storedDigests())
          .containsExactlyInAnyOrderElementsOf(image.image().allDigests());
      assertThat(readerPush.succeeded()).as(readerPush.describe()).isFalse();
      assertThat(tokens.requests())
          .anySatisfy(
              r -> {
                assertThat(r.user()).isEqualTo("reader");
                assertThat(r.scopes()).contains("repository:test/private:pull");
                assertThat(r.status()).isEqualTo(200);
              });
    }
  }

  @Test
  void distributionProxyOfTheRegistry_servesThePushedImage() {
    UpstreamRegistry.availability().and(Skopeo.availability()).assumeAvailable();
    OciImage image = OciImages.singleArch(tmp.resolve("layout"), "v1", MIB);
    try (UpstreamRegistry upstream = UpstreamRegistry.startOpen();
        UpstreamRegistry cache = UpstreamRegistry.proxyOf(upstream.url())) {
      Skopeo.push(image, upstream, "test/hello:v1");

      Skopeo.DirImage copied =
          Skopeo.copyToDir(cache.hostPort() + "/test/hello:v1", tmp.resolve("dir"), null, false);

      assertThat(copied.storedDigests())
          .containsExactlyInAnyOrderElementsOf(image.image().allDigests());
      assertThat(cache.blobDataPath(image.image().layers().get(0).digest())).exists();
    }
  }

  @Test
  @Tag("container-runtime")
  void containerd_pullsMultiArchThroughHostsTomlMirror_andStoresExactlyTheAmd64Digests() {
    UpstreamRegistry.availability()
        .and(Skopeo.availability())
        .and(Containerd.availability())
        .assumeAvailable();
    OciImage image = OciImages.multiArch(tmp.resolve("layout"), "multi", 2 * MIB, 50_000);
    try (UpstreamRegistry registry = UpstreamRegistry.startOpen();
        Containerd containerd = Containerd.start()) {
      Skopeo.push(image, registry, "test/hello:multi");
      containerd.mirror("registry.example.com", registry.hostPort());

      containerd.pull("registry.example.com/test/hello:multi");

      assertThat(containerd.imageDigest("registry.example.com/test/hello:multi"))
          .isEqualTo(image.digest());
      assertThat(containerd.contentDigests())
          .containsExactlyInAnyOrderElementsOf(image.digestsFor(Platform.LINUX_AMD64));
    }
  }

  @Test
  @Tag("container-runtime")
  void containerdAndDockerd_getTokensFromTheTokenServer_andPullFromATokenAuthRegistry() {
    UpstreamRegistry.availability()
        .and(Skopeo.availability())
        .and(TokenServer.availability())
        .and(Containerd.availability())
        .and(Dockerd.availability())
        .assumeAvailable();
    Credentials reader = new Credentials("reader", "reader-pass");
    OciImage image = OciImages.singleArch(tmp.resolve("layout"), "v1", 300_000);
    try (TokenServer tokens = TokenServer.start().grant(reader, "pull");
        UpstreamRegistry registry = UpstreamRegistry.startWithTokenAuth(tokens);
        Containerd containerd = Containerd.start();
        Dockerd dockerd = Dockerd.start(List.of(), List.of(registry.hostPort()))) {
      Skopeo.push(image, registry, "test/private:v1");
      containerd.mirror("registry.example.com", registry.hostPort());
      tokens.clearRequests();

      containerd.pull("registry.example.com/test/private:v1", "--user", reader.colonForm());
      dockerd.login(registry.hostPort(), reader);
      dockerd.pull(registry.hostPort() + "/test/private:v1");

      assertThat(containerd.contentDigests())
          .containsExactlyInAnyOrderElementsOf(image.image().allDigests());
      assertThat(dockerd.imageId(registry.hostPort() + "/test/private:v1"))
          .isEqualTo(image.image().config().digest());
      assertThat(tokens.requests())
          .filteredOn(r -> r.status() == 200 && "reader".equals(r.user()))
          .extracting(TokenServer.TokenRequest::method)
          .contains("POST", "GET");
    }
  }

  @Test
  @Tag("container-runtime")
  void dockerd_pullsFromTheRegistryAsInsecure_andRecordsThePushedDigests() {
    UpstreamRegistry.availability()
        .and(Skopeo.availability())
        .and(Dockerd.availability())
        .assumeAvailable();
    OciImage image = OciImages.singleArch(tmp.resolve("layout"), "v1", 2 * MIB, 50_000);
    try (UpstreamRegistry registry = UpstreamRegistry.startOpen();
        Dockerd dockerd = Dockerd.start(List.of(), List.of(registry.hostPort()))) {
      Skopeo.push(image, registry, "test/hello:v1");
      String ref = registry.hostPort() + "/test/hello:v1";

      dockerd.pull(ref);

      assertThat(dockerd.repoDigests(ref))
          .containsExactly(registry.hostPort() + "/test/hello@" + image.manifestDigest());
      assertThat(dockerd.imageId(ref)).isEqualTo(image.image().config().digest());
    }
  }

  @Test
  @Tag("container-runtime")
  void podman_pullsDirectlyAndThroughARegistriesConfMirror_andRecordsThePushedDigests() {
    UpstreamRegistry.availability()
        .and(Skopeo.availability())
        .and(Podman.availability())
        .assumeAvailable();
    OciImage image = OciImages.singleArch(tmp.resolve("layout"), "v1", 2 * MIB, 50_000);
    try (UpstreamRegistry registry = UpstreamRegistry.startOpen();
        Podman podman = Podman.create()) {
      Skopeo.push(image, registry, "test/hello:v1");
      podman.insecure(registry.hostPort()).mirror("registry.example.com", registry.hostPort());

      podman.pull(registry.hostPort() + "/test/hello:v1");
      podman.pull("registry.example.com/test/hello:v1");

      assertThat(podman.imageDigest(registry.hostPort() + "/test/hello:v1"))
          .isEqualTo(image.manifestDigest());
      assertThat(podman.imageDigest("registry.example.com/test/hello:v1"))
          .isEqualTo(image.manifestDigest());
      assertThat("sha256:" + podman.imageId("registry.example.com/test/hello:v1"))
          .isEqualTo(image.image().config().digest());
    }
  }

  @Test
  void proxyProcess_startsTheJarOnAFreePort_andAnswersV2() {
    UpstreamRegistry.availability().and(ProxyProcess.availability()).assumeAvailable();
    try (UpstreamRegistry registry = UpstreamRegistry.startOpen();
        ProxyProcess proxy =
            ProxyProcess.builder().upstream("registry.example.com", registry.url()).start()) {
      assertThat(Http.status(proxy.url() + "/v2/")).isBetween(200, 599);
      assertThat(proxy.configFile())
          .content()
          .contains("registry.example.com")
          .contains(registry.url());
    }
  }

  private static String sha256(String s) {
    try {
      return "sha256:"
          + HexFormat.of()
              .formatHex(
                  MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
