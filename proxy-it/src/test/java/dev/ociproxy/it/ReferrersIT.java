package dev.ociproxy.it;

import static dev.ociproxy.it.ClientRig.OPEN;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ociproxy.it.support.Http;
import dev.ociproxy.it.support.OciImage;
import dev.ociproxy.it.support.OciImages;
import dev.ociproxy.it.support.ProcessGuard;
import dev.ociproxy.it.support.ProxyProcess;
import dev.ociproxy.it.support.UpstreamRegistry;
import dev.ociproxy.testing.HostileRegistry;
import dev.ociproxy.testing.OciJson;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The referrers API of the real jar in front of Debian's docker-registry 2.8.2, which has no
 * referrers API (404) but keeps manifests with a {@code subject} and the {@code sha256-<hex>} tag
 * of the referrers tag schema: an image pushed with skopeo, an SBOM and a signature-like artifact
 * about it, and one about another digest listed in the tag's index anyway. Only the honest two come
 * back, by path prefix and by {@code ns=}, with their artifact types; the filter works; the lie is
 * logged.
 */
@ExtendWith(ProcessGuard.class)
class ReferrersIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String SBOM = "application/spdx+json";
  private static final String SIGNATURE = "application/vnd.example.signature";
  private static final String EMPTY = "application/vnd.oci.empty.v1+json";
  static ClientRig rig;

  @BeforeAll
  static void start() {
    ClientRig.availability().assumeAvailable();
    rig = ClientRig.start(OPEN);
  }

  @AfterAll
  static void stop() {
    if (rig != null) {
      rig.close();
    }
  }

  @Test
  void onlyReferrersWhoseSubjectIsTheImageAreListed_withTheirArtifactTypes_andTheFilterWorks()
      throws Exception {
    try (UpstreamRegistry up = rig.startOpen()) {
      Pushed pushed = pushImageWithReferrers(up, "ref/app");
      String subject = pushed.subject();
      byte[] sbom = pushed.sbom();
      assertThat(
              Http.client()
                  .send(
                      HttpRequest.newBuilder(
                              URI.create(up.url() + "/v2/ref/app/referrers/" + subject))
                          .build(),
                      HttpResponse.BodyHandlers.discarding())
                  .statusCode())
          .as("the upstream has no referrers API")
          .isEqualTo(404);

      List<String> honest = pushed.honest();
      for (String uri :
          List.of(
              "/v2/" + OPEN + "/ref/app/referrers/" + subject,
              "/v2/ref/app/referrers/" + subject + "?ns=" + OPEN)) {
        HttpResponse<byte[]> r = get(uri);
        assertThat(r.statusCode()).as(uri).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValue(OciJson.IMAGE_INDEX);
        assertThat(listed(r)).as(uri).containsExactlyInAnyOrderElementsOf(honest);
      }

      HttpResponse<byte[]> filtered =
          get(
              "/v2/"
                  + OPEN
                  + "/ref/app/referrers/"
                  + subject
                  + "?artifactType=application/spdx%2Bjson");
      assertThat(filtered.headers().firstValue("OCI-Filters-Applied")).hasValue("artifactType");
      assertThat(listed(filtered)).containsExactly(honest.get(0));
      assertThat(rig.proxy.log()).contains("reason=subject_mismatch");

      HttpResponse<byte[]> none = get("/v2/" + OPEN + "/ref/app/referrers/" + OciJson.sha256(sbom));
      assertThat(none.statusCode()).isEqualTo(200);
      assertThat(listed(none)).isEmpty();
    }
  }

  @Test
  void aVerifiedListOutlivesItsUpstream_staleWhileItIsDownAcrossARestart_andOfflineFromTheCache()
      throws Exception {
    Path cache = rig.layout("kept-referrers");
    String lists = "/v2/" + OPEN + "/kept/app/referrers/";
    try (UpstreamRegistry up = rig.startOpen()) {
      Pushed pushed = pushImageWithReferrers(up, "kept/app");
      String noneOf = OciJson.sha256(pushed.sbom());
      byte[] verifiedList;
      try (ProxyProcess online =
          ProxyProcess.builder()
              .upstream(OPEN, up.url())
              .cacheDir(cache)
              // Every list is revalidated at once: the next request asks the upstream.
              .upstreamYaml("freshness:\n  - pattern: \"sha256-*\"\n    freshness: always\n")
              .start()) {
        HttpResponse<byte[]> verified = get(online, lists + pushed.subject());
        assertThat(verified.statusCode()).isEqualTo(200);
        assertThat(listed(verified)).containsExactlyInAnyOrderElementsOf(pushed.honest());
        assertThat(verified.headers().firstValue("Warning")).isEmpty();
        verifiedList = verified.body();
        assertThat(listed(get(online, lists + noneOf))).isEmpty();

        ClientRig.withUpstreamDown(
            up,
            () -> {
              HttpResponse<byte[]> stale = get(online, lists + pushed.subject());
              assertStale(stale, verified);

              online.restart();

              HttpResponse<byte[]> afterRestart = get(online, lists + pushed.subject());
              assertStale(afterRestart, verified);
              HttpResponse<byte[]> emptyAfterRestart = get(online, lists + noneOf);
              assertThat(emptyAfterRestart.statusCode()).isEqualTo(200);
              assertThat(listed(emptyAfterRestart)).isEmpty();
            });
      }
      try (HostileRegistry unreachable = HostileRegistry.start();
          ProxyProcess offline =
              ProxyProcess.builder()
                  .upstream(OPEN, unreachable.url())
                  .cacheDir(cache)
                  .extraYaml("offline: true\n")
                  .start()) {
        HttpResponse<byte[]> held = get(offline, lists + pushed.subject());

        assertThat(held.statusCode()).isEqualTo(200);
        assertThat(held.body()).as("the list verified online").isEqualTo(verifiedList);
        for (String entry : listed(held)) {
          String digest = entry.substring(0, entry.indexOf(' '));
          assertThat(
                  Http.getManifest(offline.url() + "/v2/" + OPEN + "/kept/app/manifests/" + digest)
                      .statusCode())
              .as("listed referrer %s is served offline too", digest)
              .isEqualTo(200);
        }
        assertThat(listed(get(offline, lists + noneOf))).isEmpty();
        assertThat(unreachable.requests()).as("the offline upstream is never contacted").isEmpty();
      }
    }
  }

  private static void assertStale(HttpResponse<byte[]> r, HttpResponse<byte[]> verified)
      throws Exception {
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).as("the same verified list").isEqualTo(verified.body());
    assertThat(r.headers().firstValue("Warning")).hasValue("110 - \"Response is Stale\"");
    assertThat(r.headers().firstValue("X-Registry-Proxy-Stale")).hasValue("true");
  }

  /** An image and its referrers as pushed: two honest ones and one about another digest. */
  private record Pushed(String subject, byte[] sbom, List<String> honest) {}

  /**
   * Pushes an image to {@code repo}, an SBOM and a signature-like artifact about it and one about
   * another digest, all three listed in the {@code sha256-<hex>} tag's index (distribution 2.8 has
   * no referrers API).
   */
  private static Pushed pushImageWithReferrers(UpstreamRegistry up, String repo) throws Exception {
    OciImage image = OciImages.singleArch(rig.layout(repo.replace('/', '-')), "v1", 20_000);
    rig.push(image, up, repo);
    String subject = image.manifestDigest();
    uploadBlob(up, repo, "{}".getBytes());
    byte[] sbom = OciJson.artifact(SBOM, EMPTY, subject, "sbom");
    byte[] signature = OciJson.artifact(null, SIGNATURE, subject, "signature");
    byte[] elsewhere =
        OciJson.artifact(SBOM, EMPTY, OciJson.sha256("another image".getBytes()), "elsewhere");
    List<OciJson.Descriptor> listed = new ArrayList<>();
    for (byte[] m : List.of(sbom, signature, elsewhere)) {
      listed.add(OciJson.descriptor(OciJson.IMAGE_MANIFEST, m));
      putManifest(up, repo, OciJson.sha256(m), OciJson.IMAGE_MANIFEST, m);
    }
    putManifest(
        up,
        repo,
        "sha256-" + subject.substring("sha256:".length()),
        OciJson.IMAGE_INDEX,
        OciJson.index(listed.toArray(OciJson.Descriptor[]::new)));
    return new Pushed(
        subject,
        sbom,
        List.of(OciJson.sha256(sbom) + " " + SBOM, OciJson.sha256(signature) + " " + SIGNATURE));
  }

  private static HttpResponse<byte[]> get(String uri) throws Exception {
    return get(rig.proxy, uri);
  }

  private static HttpResponse<byte[]> get(ProxyProcess proxy, String uri) throws Exception {
    return Http.client()
        .send(
            HttpRequest.newBuilder(URI.create(proxy.url() + uri)).build(),
            HttpResponse.BodyHandlers.ofByteArray());
  }

  private static List<String> listed(HttpResponse<byte[]> r) throws Exception {
    List<String> out = new ArrayList<>();
    JsonNode index = JSON.readTree(r.body());
    index
        .path("manifests")
        .forEach(m -> out.add(m.path("digest").asText() + " " + m.path("artifactType").asText()));
    return out;
  }

  /**
   * distribution's two-step upload: POST opens it, PUT with the digest closes it with the bytes.
   */
  private static void uploadBlob(UpstreamRegistry up, String repo, byte[] bytes) throws Exception {
    HttpResponse<Void> opened =
        Http.client()
            .send(
                HttpRequest.newBuilder(URI.create(up.url() + "/v2/" + repo + "/blobs/uploads/"))
                    .POST(HttpRequest.BodyPublishers.noBody())
                    .build(),
                HttpResponse.BodyHandlers.discarding());
    assertThat(opened.statusCode()).as("upload opened").isEqualTo(202);
    URI location =
        URI.create(up.url()).resolve(opened.headers().firstValue("Location").orElseThrow());
    String sep = location.getRawQuery() == null ? "?" : "&";
    HttpResponse<Void> r =
        Http.client()
            .send(
                HttpRequest.newBuilder(
                        URI.create(location + sep + "digest=" + OciJson.sha256(bytes)))
                    .header("Content-Type", "application/octet-stream")
                    .PUT(HttpRequest.BodyPublishers.ofByteArray(bytes))
                    .build(),
                HttpResponse.BodyHandlers.discarding());
    assertThat(r.statusCode()).as("blob upload").isEqualTo(201);
  }

  private static void putManifest(
      UpstreamRegistry up, String repo, String ref, String type, byte[] m) throws Exception {
    HttpResponse<String> r =
        Http.client()
            .send(
                HttpRequest.newBuilder(URI.create(up.url() + "/v2/" + repo + "/manifests/" + ref))
                    .header("Content-Type", type)
                    .PUT(HttpRequest.BodyPublishers.ofByteArray(m))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as("PUT %s: %s", ref, r.body()).isEqualTo(201);
  }
}
