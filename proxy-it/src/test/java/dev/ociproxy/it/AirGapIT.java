package dev.ociproxy.it;

import static dev.ociproxy.it.CacheAssertions.assertCached;
import static dev.ociproxy.it.CacheAssertions.assertNotCached;
import static dev.ociproxy.it.CacheAssertions.files;
import static dev.ociproxy.it.ItFixtures.await;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ociproxy.it.support.CommandResult;
import dev.ociproxy.it.support.Commands;
import dev.ociproxy.it.support.Http;
import dev.ociproxy.it.support.OciImage;
import dev.ociproxy.it.support.OciImages;
import dev.ociproxy.it.support.Platform;
import dev.ociproxy.it.support.Podman;
import dev.ociproxy.it.support.ProcessGuard;
import dev.ociproxy.it.support.ProxyCli;
import dev.ociproxy.it.support.ProxyProcess;
import dev.ociproxy.it.support.Skopeo;
import dev.ociproxy.it.support.UpstreamRegistry;
import dev.ociproxy.testing.HostileRegistry;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The air-gap gateway against the real jar, a real registry and real clients: warm by reference,
 * export, carry, import into an offline proxy, pull; tampered archives refused; pins held against a
 * re-tagging upstream; pinned-only; drift reported. The commands are the ones the README's
 * "Air-gapped site" walkthrough shows.
 */
@ExtendWith(ProcessGuard.class)
class AirGapIT {
  private static final String UP = "registry.example.com";
  private static final int MIB = 1024 * 1024;
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  @BeforeEach
  void available() {
    UpstreamRegistry.availability()
        .and(Skopeo.availability())
        .and(ProxyProcess.availability())
        .assumeAvailable();
  }

  /**
   * A proxy of {@code registry} that keeps tags for an hour: the tests here are about the cache.
   */
  private static ProxyProcess.Builder proxyOf(String url) {
    return ProxyProcess.builder().upstream(UP, url).cacheOption("tagTtl", "1h");
  }

  /** A config file for the one-shot commands of a "connected machine" that runs no server. */
  private Path connectedConfig(UpstreamRegistry registry, Path cache) throws IOException {
    return Files.writeString(
        tmp.resolve("connected.yaml"),
        "cache:\n  dir: "
            + quote(cache.toString())
            + "\n"
            + "upstreams:\n  - name: "
            + UP
            + "\n    url: "
            + quote(registry.url())
            + "\n    default: true\n");
  }

  /** A YAML double-quoted scalar (a JSON string is one). */
  private static String quote(String s) {
    try {
      return JSON.writeValueAsString(s);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static CommandResult cli(String... args) {
    CommandResult r = ProxyCli.run(args);
    System.out.println(r.describe());
    return r;
  }

  private static void assertHolds(Path cache, OciImage image) {
    image.manifestDigests().forEach(d -> assertCached(cache, "manifests", d));
    image.blobDigests().forEach(d -> assertCached(cache, "blobs", d));
  }

  private static String manifestDigest(ProxyProcess proxy, String repoAndRef) {
    HttpResponse<byte[]> r = Http.getManifest(proxy.url() + "/v2/" + UP + "/" + repoAndRef);
    assertThat(r.statusCode()).as(new String(r.body(), StandardCharsets.UTF_8)).isEqualTo(200);
    return r.headers().firstValue("Docker-Content-Digest").orElseThrow();
  }

  @Test
  void warmedMultiArchImage_isPulledWithSkopeo_afterTheUpstreamIsSwitchedOff() {
    OciImage image = OciImages.multiArch(tmp.resolve("layout"), "multi", 2 * MIB, 300_000);
    try (UpstreamRegistry registry = UpstreamRegistry.startOpen();
        ProxyProcess proxy = proxyOf(registry.url()).start()) {
      Skopeo.push(image, registry, "test/hello:multi");

      CommandResult warm =
          cli("warm", "--config", proxy.configFile().toString(), UP + "/test/hello:multi");

      assertThat(warm.exitCode()).as(warm.describe()).isZero();
      assertThat(warm.stdout())
          .contains("progress: 6/6 blobs")
          .contains(
              "ok    "
                  + UP
                  + "/test/hello:multi -> "
                  + image.digest()
                  + " (3 manifest(s), 6 blob(s) fetched");
      assertHolds(proxy.cacheDir(), image);

      registry.stop();
      Skopeo.DirImage pulled =
          Skopeo.copyToDir(
              proxy.hostPort() + "/" + UP + "/test/hello:multi", tmp.resolve("pulled"), null, true);

      assertThat(pulled.manifestDigest()).isEqualTo(image.digest());
      assertThat(pulled.storedDigests()).containsExactlyInAnyOrderElementsOf(image.allDigests());
    }
  }

  @Test
  void warmOfOnePlatform_fetchesOnlyThatPlatform_andWarmingAgainFetchesNothing() {
    OciImage image = OciImages.multiArch(tmp.resolve("layout"), "multi", MIB, 100_000);
    try (UpstreamRegistry registry = UpstreamRegistry.startOpen();
        ProxyProcess proxy = proxyOf(registry.url()).start()) {
      Skopeo.push(image, registry, "test/hello:multi");
      String config = proxy.configFile().toString();

      CommandResult arm =
          cli("warm", "--config", config, "--platform", "linux/arm64", "test/hello:multi");
      CommandResult again =
          cli("warm", "--config", config, "--platform", "linux/arm64", "test/hello:multi");

      assertThat(arm.exitCode()).as(arm.describe()).isZero();
      image
          .image(Platform.LINUX_ARM64)
          .allDigests()
          .forEach(
              d ->
                  assertThat(
                          files(proxy.cacheDir()).stream()
                              .anyMatch(p -> p.endsWith(d.substring(7))))
                      .as(d)
                      .isTrue());
      image
          .image(Platform.LINUX_AMD64)
          .allDigests()
          .forEach(d -> assertNotCached(proxy.cacheDir(), d));
      assertThat(again.exitCode()).isZero();
      assertThat(again.stdout()).contains("0 blob(s) fetched = 0 B, 3 already cached");
    }
  }

  @Test
  void warmListInTheConfig_isWarmedByTheServerInTheBackground() throws Exception {
    OciImage image = OciImages.singleArch(tmp.resolve("layout"), "v1", 300_000);
    try (UpstreamRegistry registry = UpstreamRegistry.startOpen()) {
      Skopeo.push(image, registry, "test/hello:v1");
      try (ProxyProcess proxy =
          proxyOf(registry.url())
              .extraYaml(
                  "warm:\n  - ref: test/hello:v1\n    platforms: [linux/amd64]\nwarmInterval: 1h\n")
              .start()) {
        await(
            "the background warm",
            Duration.ofSeconds(60),
            () ->
                proxy
                    .log()
                    .contains(
                        "background warm: " + UP + "/test/hello:v1 -> " + image.manifestDigest()));
        assertHolds(proxy.cacheDir(), image);
      }
    }
  }

  @Test
  void warmOfAMissingImage_reportsItAndExitsNonZero() {
    try (UpstreamRegistry registry = UpstreamRegistry.startOpen();
        ProxyProcess proxy = proxyOf(registry.url()).start()) {
      CommandResult warm =
          cli("warm", "--config", proxy.configFile().toString(), "test/nothing:v1");

      assertThat(warm.exitCode()).isEqualTo(1);
      assertThat(warm.stdout())
          .contains("FAIL  " + UP + "/test/nothing:v1")
          .contains("MANIFEST_UNKNOWN");
    }
  }

  @Test
  @Tag("container-runtime")
  void exportedImage_importedIntoAnEmptyOfflineProxy_isPulledWithSkopeoAndPodman()
      throws Exception {
    OciImage image = OciImages.multiArch(tmp.resolve("layout"), "multi", 2 * MIB, 300_000);
    Path layout = tmp.resolve("hello-layout");
    Path archive = tmp.resolve("hello.tar");
    try (UpstreamRegistry registry = UpstreamRegistry.startOpen()) {
      Skopeo.push(image, registry, "test/hello:multi");
      String connected = connectedConfig(registry, tmp.resolve("connected-cache")).toString();
      assertThat(cli("warm", "--config", connected, UP + "/test/hello:multi").exitCode()).isZero();

      CommandResult toDir =
          cli(
              "export",
              "--config",
              connected,
              "--output",
              layout.toString(),
              UP + "/test/hello:multi");
      CommandResult toTar =
          cli(
              "export",
              "--config",
              connected,
              "--output",
              archive.toString(),
              UP + "/test/hello:multi");

      assertThat(toDir.exitCode()).as(toDir.describe()).isZero();
      assertThat(toTar.exitCode()).as(toTar.describe()).isZero();
      assertThat(toTar.stdout()).contains("ok    " + UP + "/test/hello:multi -> " + image.digest());
    }
    // skopeo reads both, by the ref name the export wrote.
    Skopeo.run(
            List.of(
                "copy",
                "--all",
                "--preserve-digests",
                "oci:" + layout + ":" + UP + "/test/hello:multi",
                "dir:" + tmp.resolve("from-layout")))
        .orThrow();
    assertThat(Skopeo.digestOf(tmp.resolve("from-layout/manifest.json"))).isEqualTo(image.digest());
    Skopeo.run(
            List.of(
                "copy",
                "oci-archive:" + archive + ":" + UP + "/test/hello:multi",
                "dir:" + tmp.resolve("from-archive")))
        .orThrow();
    assertThat(Skopeo.digestOf(tmp.resolve("from-archive/manifest.json")))
        .isEqualTo(image.image(Platform.LINUX_AMD64).manifest().digest());
    if (Commands.which("umoci").isPresent()) {
      CommandResult umoci =
          Commands.run(List.of("umoci", "ls", "--layout", layout.toString())).orThrow();
      assertThat(umoci.stdout()).contains(UP + "/test/hello:multi");
    }

    // Across the gap: a proxy whose upstream is never to be contacted (a stub that records any
    // contact).
    try (HostileRegistry unreachable = HostileRegistry.start();
        ProxyProcess site =
            ProxyProcess.builder()
                .upstream(UP, unreachable.url())
                .extraYaml("offline: true\n")
                .start()) {
      site.stop();
      CommandResult imported =
          cli("import", "--config", site.configFile().toString(), archive.toString());
      site.start();

      assertThat(imported.exitCode()).as(imported.describe()).isZero();
      assertThat(imported.stdout())
          .contains(
              "ok      "
                  + UP
                  + "/test/hello:multi -> "
                  + image.digest()
                  + " as "
                  + UP
                  + "/test/hello:multi");
      assertHolds(site.cacheDir(), image);
      Skopeo.DirImage pulled =
          Skopeo.copyToDir(
              site.hostPort() + "/" + UP + "/test/hello:multi", tmp.resolve("pulled"), null, true);
      assertThat(pulled.manifestDigest()).isEqualTo(image.digest());
      assertThat(pulled.storedDigests()).containsExactlyInAnyOrderElementsOf(image.allDigests());

      HttpResponse<byte[]> unknown =
          Http.getManifest(site.url() + "/v2/" + UP + "/test/nothing/manifests/v1");
      assertThat(unknown.statusCode()).isEqualTo(404);
      assertThat(new String(unknown.body(), StandardCharsets.UTF_8))
          .contains("MANIFEST_UNKNOWN")
          .contains("is offline");

      if (Podman.availability().available()) {
        try (Podman podman = Podman.create()) {
          podman.mirror(UP, site.hostPort());
          podman.pull(UP + "/test/hello:multi");
          assertThat("sha256:" + podman.imageId(UP + "/test/hello:multi"))
              .isEqualTo(image.image(Platform.LINUX_AMD64).config().digest());
          System.out.println("podman pulled " + UP + "/test/hello:multi through the offline proxy");
        }
      } else {
        System.out.println("podman part skipped: " + Podman.availability().reason());
      }
      assertThat(unreachable.requests()).as("requests that reached the offline upstream").isEmpty();
    }
  }

  @Test
  void ociArchiveWrittenBySkopeo_isImported_andServedByAnOfflineProxy() {
    OciImage image = OciImages.singleArch(tmp.resolve("layout"), "v2", MIB, 50_000);
    Path archive = tmp.resolve("tool.tar");
    try (UpstreamRegistry registry = UpstreamRegistry.startOpen()) {
      Skopeo.push(image, registry, "test/tool:v2");
      Skopeo.run(
              List.of(
                  "copy",
                  "--src-tls-verify=false",
                  "--preserve-digests",
                  "docker://" + registry.hostPort() + "/test/tool:v2",
                  "oci-archive:" + archive + ":test/tool:v2"))
          .orThrow();
    }
    try (HostileRegistry unreachable = HostileRegistry.start();
        ProxyProcess site =
            ProxyProcess.builder()
                .upstream(UP, unreachable.url())
                .extraYaml("offline: true\n")
                .start()) {
      site.stop();
      CommandResult imported =
          cli("import", "--config", site.configFile().toString(), archive.toString());
      site.start();

      assertThat(imported.exitCode()).as(imported.describe()).isZero();
      assertThat(imported.stdout()).contains(" as " + UP + "/test/tool:v2");
      Skopeo.DirImage pulled =
          Skopeo.copyToDir(
              site.hostPort() + "/" + UP + "/test/tool:v2", tmp.resolve("pulled"), null, false);
      assertThat(pulled.manifestDigest()).isEqualTo(image.manifestDigest());
      assertThat(pulled.storedDigests()).containsExactlyInAnyOrderElementsOf(image.allDigests());
      assertThat(unreachable.requests()).isEmpty();
    }
  }

  @Test
  void tamperedArchive_isRefusedEntryByEntry_andLeavesTheCacheClean() throws Exception {
    Path layoutDir = tmp.resolve("layout");
    OciImage a = OciImages.singleArch(layoutDir, "a", 200_000);
    OciImage b = OciImages.singleArch(layoutDir, "b", 200_000);
    OciImage c = OciImages.singleArch(layoutDir, "c", 200_000);
    Path export = tmp.resolve("export");
    try (UpstreamRegistry registry = UpstreamRegistry.startOpen()) {
      Skopeo.push(a, registry, "test/a:v1");
      Skopeo.push(b, registry, "test/b:v1");
      Skopeo.push(c, registry, "test/c:v1");
      String connected = connectedConfig(registry, tmp.resolve("connected-cache")).toString();
      assertThat(
              cli("warm", "--config", connected, "test/a:v1", "test/b:v1", "test/c:v1").exitCode())
          .isZero();
      assertThat(
              cli(
                      "export",
                      "--config",
                      connected,
                      "--output",
                      export.toString(),
                      "test/a:v1",
                      "test/b:v1",
                      "test/c:v1")
                  .exitCode())
          .isZero();
    }
    // One flipped byte in a layer of a; b's manifest descriptor claims one byte more than its
    // manifest has.
    String layer = a.image().layers().get(0).digest();
    Path layerFile = export.resolve("blobs/sha256/" + layer.substring(7));
    byte[] bytes = Files.readAllBytes(layerFile);
    bytes[bytes.length / 2] ^= 0x01;
    Files.write(layerFile, bytes);
    ObjectNode index = (ObjectNode) JSON.readTree(export.resolve("index.json").toFile());
    long bSize = b.image().manifest().size();
    index
        .path("manifests")
        .forEach(
            m -> {
              if (m.path("digest").asText().equals(b.manifestDigest())) {
                ((ObjectNode) m).put("size", bSize + 1);
              }
            });
    JSON.writeValue(export.resolve("index.json").toFile(), index);
    Path tampered = tmp.resolve("tampered.tar");
    Commands.run(List.of("tar", "-C", export.toString(), "-cf", tampered.toString(), "."))
        .orThrow();

    try (HostileRegistry unreachable = HostileRegistry.start();
        ProxyProcess site =
            ProxyProcess.builder()
                .upstream(UP, unreachable.url())
                .extraYaml("offline: true\n")
                .start()) {
      site.stop();
      CommandResult imported =
          cli("import", "--config", site.configFile().toString(), tampered.toString());

      assertThat(imported.exitCode()).isEqualTo(1);
      assertThat(imported.stdout())
          .contains("REFUSED " + UP + "/test/a:v1 -> " + a.manifestDigest())
          .contains(
              "layer 0 " + layer + " of manifest " + a.manifestDigest() + ": content hashes to")
          .contains("REFUSED " + UP + "/test/b:v1 -> " + b.manifestDigest())
          .contains("the descriptor says " + (bSize + 1) + " bytes, the archive has " + bSize)
          .contains("ok      " + UP + "/test/c:v1 -> " + c.manifestDigest())
          .contains("import: 1 of 3 image(s) imported, 2 refused");
      a.allDigests().forEach(d -> assertNotCached(site.cacheDir(), d));
      b.allDigests().forEach(d -> assertNotCached(site.cacheDir(), d));
      assertThat(files(site.cacheDir().resolve("tags")))
          .singleElement()
          .satisfies(p -> assertThat(p.toString()).endsWith("test/c/_tags/v1"));
      assertThat(files(site.cacheDir().resolve("tmp"))).isEmpty();

      site.start();
      assertThat(Http.status(site.url() + "/v2/" + UP + "/test/a/manifests/v1")).isEqualTo(404);
      assertThat(manifestDigest(site, "test/c/manifests/v1")).isEqualTo(c.manifestDigest());
    }
  }

  @Test
  void pinnedTag_keepsItsDigestAfterTheUpstreamRetags_driftIsReported_andAPinEditTakesEffect()
      throws Exception {
    OciImage v1 = OciImages.singleArch(tmp.resolve("layout"), "v1", 100_000);
    OciImage moved = OciImages.singleArch(tmp.resolve("layout"), "moved", 100_000);
    Path pins = tmp.resolve("pins.yaml");
    Files.writeString(pins, "\"" + UP + "/test/app:v1\": \"" + v1.manifestDigest() + "\"\n");
    try (UpstreamRegistry registry = UpstreamRegistry.startOpen();
        ProxyProcess proxy =
            ProxyProcess.builder()
                .upstream(UP, registry.url())
                .cacheOption("tagTtl", "0s")
                .extraYaml("pins: " + quote(pins.toString()) + "\n")
                .start()) {
      Skopeo.push(v1, registry, "test/app:v1");
      assertThat(
              Skopeo.copyToDir(
                      proxy.hostPort() + "/" + UP + "/test/app:v1",
                      tmp.resolve("first"),
                      null,
                      false)
                  .manifestDigest())
          .isEqualTo(v1.manifestDigest());

      Skopeo.push(moved, registry, "test/app:v1");

      assertThat(
              Skopeo.copyToDir(
                      proxy.hostPort() + "/" + UP + "/test/app:v1",
                      tmp.resolve("second"),
                      null,
                      false)
                  .manifestDigest())
          .isEqualTo(v1.manifestDigest());
      String driftLine =
          "pin drift: "
              + UP
              + "/test/app:v1 is pinned to "
              + v1.manifestDigest()
              + " but the upstream now points it at "
              + moved.manifestDigest();
      await(
          "the drift log line",
          Duration.ofSeconds(60),
          () -> {
            manifestDigest(proxy, "test/app/manifests/v1");
            return proxy.log().contains(driftLine);
          });
      CommandResult audit = cli("audit", "--config", proxy.configFile().toString());
      assertThat(audit.exitCode()).isEqualTo(1);
      assertThat(audit.stdout())
          .contains(
              "DRIFT   "
                  + UP
                  + "/test/app:v1 -> pinned "
                  + v1.manifestDigest()
                  + " -> upstream "
                  + moved.manifestDigest());

      Files.writeString(pins, "\"" + UP + "/test/app:v1\": \"" + moved.manifestDigest() + "\"\n");
      await(
          "the edited pin to take effect",
          Duration.ofSeconds(30),
          () -> manifestDigest(proxy, "test/app/manifests/v1").equals(moved.manifestDigest()));
      CommandResult inLine = cli("audit", "--config", proxy.configFile().toString());
      assertThat(inLine.exitCode()).as(inLine.describe()).isZero();
      assertThat(inLine.stdout()).contains("OK      " + UP + "/test/app:v1");
    }
  }

  @Test
  void pinnedOnly_servesWhatWarmWroteToThePinFile_andRefusesAnUnpinnedDigestWithoutFetchingIt()
      throws Exception {
    OciImage pinned = OciImages.multiArch(tmp.resolve("layout"), "multi", 200_000);
    OciImage other = OciImages.singleArch(tmp.resolve("layout"), "other", 100_000);
    Path pins = tmp.resolve("pins.yaml");
    try (UpstreamRegistry registry = UpstreamRegistry.startOpen()) {
      Skopeo.push(pinned, registry, "test/app:v1");
      Skopeo.push(other, registry, "test/app:v2");
      CommandResult warm =
          cli(
              "warm",
              "--config",
              connectedConfig(registry, tmp.resolve("connected-cache")).toString(),
              "--write-pins",
              pins.toString(),
              UP + "/test/app:v1");
      assertThat(warm.stdout()).contains("pins: wrote 1 pin(s) to " + pins);
      assertThat(Files.readString(pins))
          .contains("\"" + UP + "/test/app:v1\": \"" + pinned.digest() + "\"");

      long logBefore = Files.size(registry.logFile()); // the pushes above are in the log too
      try (ProxyProcess proxy =
          proxyOf(registry.url())
              .extraYaml("pins: " + quote(pins.toString()) + "\npolicy: pinned-only\n")
              .start()) {
        Skopeo.DirImage pulled =
            Skopeo.copyToDir(
                proxy.hostPort() + "/" + UP + "/test/app:v1", tmp.resolve("pulled"), null, true);
        assertThat(pulled.storedDigests()).containsExactlyInAnyOrderElementsOf(pinned.allDigests());

        String base = proxy.url() + "/v2/" + UP + "/test/app/";
        HttpResponse<byte[]> byDigest =
            Http.getManifest(base + "manifests/" + other.manifestDigest());
        assertThat(byDigest.statusCode()).isEqualTo(403);
        assertThat(new String(byDigest.body(), StandardCharsets.UTF_8))
            .contains("DENIED")
            .contains("pinned-only");
        assertThat(Http.status(base + "manifests/v2")).isEqualTo(403);
        assertThat(Http.status(base + "blobs/" + other.image().layers().get(0).digest()))
            .isEqualTo(403);
        assertThat(
                Skopeo.run(
                        List.of(
                            "copy",
                            "--src-tls-verify=false",
                            "docker://" + proxy.hostPort() + "/" + UP + "/test/app:v2",
                            "dir:" + tmp.resolve("refused")))
                    .succeeded())
            .isFalse();

        String upstreamLog = Files.readString(registry.logFile()).substring((int) logBefore);
        assertThat(upstreamLog).contains("/v2/test/app/manifests/" + pinned.digest());
        assertThat(upstreamLog)
            .doesNotContain(other.manifestDigest())
            .doesNotContain("/v2/test/app/manifests/v2");
        other.allDigests().forEach(d -> assertNotCached(proxy.cacheDir(), d));
      }
    }
  }
}
