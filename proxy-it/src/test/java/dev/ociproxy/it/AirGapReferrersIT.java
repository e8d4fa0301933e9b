package dev.ociproxy.it;

import static dev.ociproxy.it.CacheAssertions.assertCached;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ociproxy.it.support.CommandResult;
import dev.ociproxy.it.support.Http;
import dev.ociproxy.it.support.OciImage;
import dev.ociproxy.it.support.OciImages;
import dev.ociproxy.it.support.ProcessGuard;
import dev.ociproxy.it.support.ProxyCli;
import dev.ociproxy.it.support.ProxyProcess;
import dev.ociproxy.it.support.RegistryPush;
import dev.ociproxy.it.support.Skopeo;
import dev.ociproxy.it.support.UpstreamRegistry;
import dev.ociproxy.testing.HostileRegistry;
import dev.ociproxy.testing.OciJson;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * What is attached to an image crosses the gap with it, against the real jar and Debian's
 * docker-registry 2.8.2 (no referrers API: the {@code sha256-<hex>} tag schema): warm with
 * referrers, export, import into an empty proxy whose upstream is never contacted, and the
 * referrers API answers the same verified list from the import, filter included.
 */
@ExtendWith(ProcessGuard.class)
class AirGapReferrersIT {
  private static final String UP = "registry.example.com";
  private static final String REPO = "test/signed";
  private static final String SBOM = "application/spdx+json";
  private static final String SIGNATURE = "application/vnd.example.signature";
  private static final String EMPTY = "application/vnd.oci.empty.v1+json";
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;

  @BeforeEach
  void available() {
    UpstreamRegistry.availability()
        .and(Skopeo.availability())
        .and(ProxyProcess.availability())
        .assumeAvailable();
  }

  @Test
  void referrersWarmedExportedAndImported_areServedOffline_asTheSameVerifiedList()
      throws Exception {
    OciImage image = OciImages.singleArch(tmp.resolve("layout"), "v1", 50_000);
    String subject = image.manifestDigest();
    byte[] sbom = OciJson.artifact(SBOM, EMPTY, subject, "sbom");
    byte[] signature = OciJson.artifact(null, SIGNATURE, subject, "signature");
    byte[] elsewhere =
        OciJson.artifact(SBOM, EMPTY, OciJson.sha256("another image".getBytes()), "elsewhere");
    Path archive = tmp.resolve("signed.tar");
    byte[] online;
    try (UpstreamRegistry registry = UpstreamRegistry.startOpen();
        ProxyProcess connected =
            ProxyProcess.builder()
                .upstream(UP, registry.url())
                .cacheOption("tagTtl", "1h")
                .start()) {
      Skopeo.push(image, registry, REPO + ":v1");
      RegistryPush.blob(registry, REPO, "{}".getBytes(StandardCharsets.UTF_8));
      List<OciJson.Descriptor> listed = new ArrayList<>();
      for (byte[] m : List.of(sbom, signature, elsewhere)) {
        listed.add(OciJson.descriptor(OciJson.IMAGE_MANIFEST, m));
        RegistryPush.manifest(registry, REPO, OciJson.sha256(m), OciJson.IMAGE_MANIFEST, m);
      }
      RegistryPush.manifest(
          registry,
          REPO,
          "sha256-" + subject.substring("sha256:".length()),
          OciJson.IMAGE_INDEX,
          OciJson.index(listed.toArray(OciJson.Descriptor[]::new)));
      String config = connected.configFile().toString();

      CommandResult warm = cli("warm", "--config", config, "--referrers", UP + "/" + REPO + ":v1");
      assertThat(warm.exitCode()).as(warm.describe()).isZero();
      assertThat(warm.stdout()).contains("2 referrer(s)");
      for (byte[] m : List.of(sbom, signature)) {
        assertCached(connected.cacheDir(), "manifests", OciJson.sha256(m));
      }
      online = referrers(connected, subject, "").body();

      CommandResult export =
          cli(
              "export",
              "--config",
              config,
              "--output",
              archive.toString(),
              UP + "/" + REPO + ":v1");
      assertThat(export.exitCode()).as(export.describe()).isZero();
      assertThat(export.stdout())
          .contains("ok    " + UP + "/" + REPO + ":sha256-" + subject.substring(7));
    }
    assertThat(listed(online))
        .as("what the pull-through verified")
        .containsExactlyInAnyOrder(
            OciJson.sha256(sbom) + " " + SBOM, OciJson.sha256(signature) + " " + SIGNATURE);

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
      assertThat(imported.stdout()).contains("the referrers of " + subject + ": 2 listed");

      HttpResponse<byte[]> offline = referrers(site, subject, "");
      assertThat(offline.statusCode()).isEqualTo(200);
      assertThat(offline.headers().firstValue("Content-Type")).hasValue(OciJson.IMAGE_INDEX);
      assertThat(JSON.readTree(offline.body()).path("manifests"))
          .as("the same verified list as the pull-through answered")
          .containsExactlyInAnyOrderElementsOf(JSON.readTree(online).path("manifests"));

      HttpResponse<byte[]> filtered =
          referrers(site, subject, "?artifactType=application/spdx%2Bjson");
      assertThat(filtered.headers().firstValue("OCI-Filters-Applied")).hasValue("artifactType");
      assertThat(listed(filtered.body())).containsExactly(OciJson.sha256(sbom) + " " + SBOM);

      for (byte[] m : List.of(sbom, signature)) {
        HttpResponse<byte[]> r =
            Http.getManifest(
                site.url() + "/v2/" + UP + "/" + REPO + "/manifests/" + OciJson.sha256(m));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo(m);
      }
      assertThat(unreachable.requests()).as("requests that reached the offline upstream").isEmpty();
    }
  }

  private static CommandResult cli(String... args) {
    CommandResult r = ProxyCli.run(args);
    System.out.println(r.describe());
    return r;
  }

  private static HttpResponse<byte[]> referrers(ProxyProcess proxy, String subject, String query)
      throws Exception {
    return Http.client()
        .send(
            HttpRequest.newBuilder(
                    URI.create(
                        proxy.url() + "/v2/" + UP + "/" + REPO + "/referrers/" + subject + query))
                .build(),
            HttpResponse.BodyHandlers.ofByteArray());
  }

  private static List<String> listed(byte[] index) throws Exception {
    List<String> out = new ArrayList<>();
    JsonNode root = JSON.readTree(index);
    root.path("manifests")
        .forEach(m -> out.add(m.path("digest").asText() + " " + m.path("artifactType").asText()));
    return out;
  }
}
