package dev.ociproxy.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.it.support.CommandResult;
import dev.ociproxy.it.support.Http;
import dev.ociproxy.it.support.OciImage;
import dev.ociproxy.it.support.OciImages;
import dev.ociproxy.it.support.ProcessGuard;
import dev.ociproxy.it.support.ProxyCli;
import dev.ociproxy.it.support.ProxyProcess;
import dev.ociproxy.it.support.Skopeo;
import dev.ociproxy.it.support.UpstreamRegistry;
import dev.ociproxy.testing.CosignSignatures;
import dev.ociproxy.testing.HostileRegistry;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Signatures cross the gap with their images, against the real jar and Debian's docker-registry
 * 2.8.2: a connected proxy without a policy warms with {@code --signatures} and exports; an empty
 * site proxy, offline, with the signature policy of {@link SignaturePolicyIT}, imports the archive
 * and enforces the policy from what was imported alone. Keys and signatures are made in test code
 * (Debian's skopeo cannot sign).
 */
@ExtendWith(ProcessGuard.class)
class AirGapSignaturesIT {
  private static final String UP = "registry.example.com";
  private static final KeyPair TRUSTED = CosignSignatures.ecKey();

  @TempDir Path tmp;

  @BeforeEach
  void available() {
    UpstreamRegistry.availability()
        .and(Skopeo.availability())
        .and(ProxyProcess.availability())
        .assumeAvailable();
  }

  @Test
  void warmedExportedAndImported_theSignedImagesAreServedOffline_theUnsignedOneIsRefused()
      throws Exception {
    Path key =
        Files.writeString(tmp.resolve("cosign.pub"), CosignSignatures.pem(TRUSTED.getPublic()));
    OciImage signed = OciImages.singleArch(tmp.resolve("signed"), "v1", 40_000);
    OciImage bundled = OciImages.singleArch(tmp.resolve("bundled"), "v1", 30_000);
    OciImage unsigned = OciImages.singleArch(tmp.resolve("unsigned"), "v1", 20_000);
    Path archive = tmp.resolve("carried.tar");
    try (UpstreamRegistry registry = UpstreamRegistry.startOpen();
        ProxyProcess connected = ProxyProcess.builder().upstream(UP, registry.url()).start()) {
      Skopeo.push(signed, registry, "signed/app:v1");
      SignaturePolicyIT.sign(
          registry,
          "signed/app",
          signed.manifestDigest(),
          TRUSTED.getPrivate(),
          UP + "/signed/app:v1");
      Skopeo.push(bundled, registry, "bundled/app:v1");
      SignaturePolicyIT.signWithBundle(registry, "bundled/app", bundled, TRUSTED.getPrivate());
      Skopeo.push(unsigned, registry, "signed/unsigned:v1");
      String config = connected.configFile().toString();
      List<String> refs =
          List.of(UP + "/signed/app:v1", UP + "/bundled/app:v1", UP + "/signed/unsigned:v1");

      CommandResult warm = cli(List.of("warm", "--config", config, "--signatures"), refs);
      assertThat(warm.exitCode()).as(warm.describe()).isZero();
      assertThat(warm.stdout())
          .contains("ok    " + UP + "/signed/app:v1 -> " + signed.manifestDigest())
          .contains("1 signature(s)");

      CommandResult export =
          cli(List.of("export", "--config", config, "--output", archive.toString()), refs);
      assertThat(export.exitCode()).as(export.describe()).isZero();
      assertThat(export.stdout())
          .contains(
              "ok    "
                  + UP
                  + "/signed/app:"
                  + CosignSignatures.signatureTag(signed.manifestDigest()))
          .contains("ok    " + UP + "/bundled/app:" + bundled.manifestDigest().replace(':', '-'))
          .contains("ok    " + UP + "/signed/unsigned:v1");
    }

    try (HostileRegistry unreachable = HostileRegistry.start();
        ProxyProcess site =
            ProxyProcess.builder()
                .upstream(UP, unreachable.url())
                .extraYaml("offline: true\n" + SignaturePolicyIT.policy(key))
                .start()) {
      site.stop();
      CommandResult imported =
          cli(
              List.of("import", "--config", site.configFile().toString()),
              List.of(archive.toString()));
      site.start();
      assertThat(imported.exitCode()).as(imported.describe()).isZero();

      String at = site.hostPort() + "/" + UP;
      Skopeo.DirImage byTag =
          Skopeo.copyToDir(at + "/signed/app:v1", tmp.resolve("out-signed"), null, false);
      Skopeo.DirImage byBundle =
          Skopeo.copyToDir(at + "/bundled/app:v1", tmp.resolve("out-bundled"), null, false);
      assertThat(byTag.storedDigests())
          .containsExactlyInAnyOrderElementsOf(signed.image().allDigests());
      assertThat(byBundle.storedDigests())
          .containsExactlyInAnyOrderElementsOf(bundled.image().allDigests());

      CommandResult refused =
          Skopeo.run(
              List.of(
                  "copy",
                  "--src-tls-verify=false",
                  "docker://" + at + "/signed/unsigned:v1",
                  "dir:" + tmp.resolve("out-unsigned")));
      assertThat(refused.succeeded()).as(refused.describe()).isFalse();
      for (String asked : List.of("v1", unsigned.manifestDigest())) {
        HttpResponse<byte[]> r =
            Http.getManifest(site.url() + "/v2/" + UP + "/signed/unsigned/manifests/" + asked);
        String body = new String(r.body(), StandardCharsets.UTF_8);
        assertThat(r.statusCode()).as(body).isEqualTo(403);
        assertThat(body).contains("\"DENIED\"").contains("no_signature");
      }
      for (String blob : unsigned.blobDigests()) {
        assertThat(Http.status(site.url() + "/v2/" + UP + "/signed/unsigned/blobs/" + blob))
            .as("blob %s of the refused image", blob)
            .isEqualTo(403);
      }
      assertThat(unreachable.requests()).as("requests that reached the offline upstream").isEmpty();
    }
  }

  private static CommandResult cli(List<String> head, List<String> refs) {
    List<String> args = new ArrayList<>(head);
    args.addAll(refs);
    CommandResult r = ProxyCli.run(args.toArray(String[]::new));
    System.out.println(r.describe());
    return r;
  }
}
