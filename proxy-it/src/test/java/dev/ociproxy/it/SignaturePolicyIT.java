package dev.ociproxy.it;

import static dev.ociproxy.it.CacheAssertions.assertNotCached;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.it.support.CommandResult;
import dev.ociproxy.it.support.Http;
import dev.ociproxy.it.support.OciImage;
import dev.ociproxy.it.support.OciImages;
import dev.ociproxy.it.support.ProcessGuard;
import dev.ociproxy.it.support.ProxyCli;
import dev.ociproxy.it.support.ProxyProcess;
import dev.ociproxy.it.support.RegistryPush;
import dev.ociproxy.it.support.Skopeo;
import dev.ociproxy.it.support.TempDirs;
import dev.ociproxy.it.support.UpstreamRegistry;
import dev.ociproxy.testing.CosignSignatures;
import dev.ociproxy.testing.OciJson;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The signature policy of the real jar in front of Debian's docker-registry 2.8.2, pulled with
 * skopeo. Debian's skopeo and podman cannot sign (sigstore disabled), so keys and signatures are
 * made here as cosign lays them out: an ECDSA P-256 key, the simple-signing payload signed with
 * SHA256withECDSA (DER, base64 in the layer annotation), the manifest pushed under the {@code
 * sha256-<hex>.sig} tag; a DSSE bundle as a referrer under the referrers tag schema.
 */
@ExtendWith(ProcessGuard.class)
class SignaturePolicyIT {
  private static final String UP = "registry.example.com";
  private static final KeyPair TRUSTED = CosignSignatures.ecKey();
  private static final KeyPair OTHER = CosignSignatures.ecKey();

  static Path work;
  static Path key;
  static UpstreamRegistry up;
  static ProxyProcess proxy;

  /** Signed repositories under signed/, remapped ones under vendor/, bundles under bundled/. */
  static String policy(Path keyFile) {
    String k = "keyPath: \"" + keyFile + "\"";
    return """
        signaturePolicy:
          default: [{type: insecureAcceptAnything}]
          transports:
            docker:
              %1$s/signed: [{type: sigstoreSigned, %2$s}]
              %1$s/vendor:
                - type: sigstoreSigned
                  %2$s
                  signedIdentity:
                    type: remapIdentity
                    prefix: %1$s/vendor
                    signedPrefix: vendor.example.com
              %1$s/bundled:
                - {type: sigstoreSigned, %2$s, signedIdentity: {type: matchRepository}}
        """
        .formatted(UP, k);
  }

  @BeforeAll
  static void start() throws Exception {
    UpstreamRegistry.availability()
        .and(Skopeo.availability())
        .and(ProxyProcess.availability())
        .assumeAvailable();
    work = TempDirs.create("signatures");
    key = Files.writeString(work.resolve("cosign.pub"), CosignSignatures.pem(TRUSTED.getPublic()));
    up = UpstreamRegistry.startOpen();
    proxy = proxyOf(up).start();
  }

  static ProxyProcess.Builder proxyOf(UpstreamRegistry registry) {
    // Tags revalidated on every request: a moved tag is seen at once.
    return ProxyProcess.builder()
        .upstream(UP, registry.url())
        .cacheOption("tagTtl", "0s")
        .extraYaml(policy(key));
  }

  @AfterAll
  static void stop() {
    if (proxy != null) {
      proxy.close();
    }
    if (up != null) {
      up.close();
    }
    if (work != null) {
      TempDirs.deleteRecursively(work);
    }
  }

  private static OciImage push(UpstreamRegistry to, String repo, String tag) {
    OciImage image =
        OciImages.singleArch(work.resolve(repo.replace('/', '-') + "-" + tag), tag, 50_000);
    Skopeo.push(image, to, repo + ":" + tag);
    return image;
  }

  /** Pushes cosign's signature manifest of {@code digest}: one layer per payload. */
  static void sign(UpstreamRegistry to, String repo, String digest, CosignSignatures.Layer... ls)
      throws Exception {
    RegistryPush.blob(to, repo, CosignSignatures.signatureConfig());
    for (CosignSignatures.Layer l : ls) {
      RegistryPush.blob(to, repo, l.payload());
    }
    RegistryPush.manifest(
        to,
        repo,
        CosignSignatures.signatureTag(digest),
        OciJson.IMAGE_MANIFEST,
        CosignSignatures.signatureManifest(ls));
  }

  static void sign(UpstreamRegistry to, String repo, String digest, PrivateKey by, String reference)
      throws Exception {
    sign(
        to,
        repo,
        digest,
        CosignSignatures.Layer.signed(by, CosignSignatures.payload(reference, digest)));
  }

  /**
   * Pushes cosign's bundle of {@code image} signed by {@code by} as its only referrer, listed under
   * the referrers tag schema (docker-registry 2.8.2 has no referrers API).
   */
  static void signWithBundle(UpstreamRegistry to, String repo, OciImage image, PrivateKey by)
      throws Exception {
    byte[] bundle =
        CosignSignatures.bundle(
            by, CosignSignatures.statement(UP + "/" + repo, image.manifestDigest()));
    RegistryPush.blob(to, repo, CosignSignatures.EMPTY_JSON);
    RegistryPush.blob(to, repo, bundle);
    OciImage.Blob top = image.top();
    byte[] referrer =
        CosignSignatures.bundleManifest(
            bundle, new OciJson.Descriptor(top.mediaType(), top.digest(), top.size(), Map.of()));
    String referrerDigest = OciJson.sha256(referrer);
    RegistryPush.manifest(to, repo, referrerDigest, OciJson.IMAGE_MANIFEST, referrer);
    RegistryPush.manifest(
        to,
        repo,
        image.manifestDigest().replace(':', '-'),
        OciJson.IMAGE_INDEX,
        OciJson.index(
            new OciJson.Descriptor(
                OciJson.IMAGE_MANIFEST, referrerDigest, referrer.length, Map.of())));
  }

  private static String ref(String repoAndRef) {
    return proxy.hostPort() + "/" + UP + "/" + repoAndRef;
  }

  private static HttpResponse<byte[]> manifest(ProxyProcess p, String repo, String ref) {
    return Http.getManifest(p.url() + "/v2/" + UP + "/" + repo + "/manifests/" + ref);
  }

  private static CommandResult copy(String ref, Path out, boolean all) {
    List<String> args =
        new ArrayList<>(List.of("copy", "--src-tls-verify=false", "--preserve-digests"));
    if (all) {
      args.add("--all");
    }
    args.add("docker://" + ref);
    args.add("dir:" + out);
    return Skopeo.run(args);
  }

  /** The refusal of {@code repo:tag}: 403 DENIED naming the reason; nothing of it served. */
  private static void assertRefused(OciImage image, String repo, String reason) {
    CommandResult pull =
        copy(ref(repo + ":" + image.tag()), work.resolve("out-" + repo.replace('/', '-')), false);
    assertThat(pull.succeeded()).as(pull.describe()).isFalse();
    for (String asked : List.of(image.tag(), image.manifestDigest())) {
      HttpResponse<byte[]> r = manifest(proxy, repo, asked);
      String body = new String(r.body(), StandardCharsets.UTF_8);
      assertThat(r.statusCode()).as(body).isEqualTo(403);
      assertThat(body).contains("\"DENIED\"").contains(reason).contains("rule '" + UP + "/");
    }
    for (String blob : image.blobDigests()) {
      int status = Http.status(proxy.url() + "/v2/" + UP + "/" + repo + "/blobs/" + blob);
      assertThat(status).as("blob %s of the refused image", blob).isEqualTo(403);
      assertNotCached(proxy.cacheDir(), blob);
    }
    assertThat(proxy.log()).contains("policy refused: upstream=" + UP + " repository=" + repo);
  }

  @Test
  void aSignedImage_isCopiedBySkopeo_byTagAndByDigest() throws Exception {
    OciImage image = push(up, "signed/app", "v1");
    sign(up, "signed/app", image.manifestDigest(), TRUSTED.getPrivate(), UP + "/signed/app:v1");

    Skopeo.DirImage byTag =
        Skopeo.copyToDir(ref("signed/app:v1"), work.resolve("bytag"), null, false);
    Skopeo.DirImage byDigest =
        Skopeo.copyToDir(
            ref("signed/app@" + image.manifestDigest()), work.resolve("bydigest"), null, false);

    assertThat(byTag.storedDigests())
        .containsExactlyInAnyOrderElementsOf(image.image().allDigests());
    assertThat(byDigest.storedDigests())
        .containsExactlyInAnyOrderElementsOf(image.image().allDigests());
    assertThat(proxy.log()).contains("policy admitted: upstream=" + UP + " repository=signed/app");
  }

  @Test
  void aSignedMultiArchIndex_servesEveryPlatformItLists() throws Exception {
    OciImage image = OciImages.multiArch(work.resolve("multi"), "multi", 40_000);
    Skopeo.push(image, up, "signed/multi:multi");
    sign(up, "signed/multi", image.digest(), TRUSTED.getPrivate(), UP + "/signed/multi:multi");

    Skopeo.DirImage all =
        Skopeo.copyToDir(ref("signed/multi:multi"), work.resolve("all"), null, true);

    assertThat(all.storedDigests()).containsExactlyInAnyOrderElementsOf(image.allDigests());
  }

  @Test
  void unsignedOtherKeyOtherDigestAndAFlippedByte_areEachRefusedWithTheirReason() throws Exception {
    OciImage unsigned = push(up, "signed/unsigned", "v1");
    OciImage otherKey = push(up, "signed/otherkey", "v1");
    sign(
        up,
        "signed/otherkey",
        otherKey.manifestDigest(),
        OTHER.getPrivate(),
        UP + "/signed/otherkey:v1");
    OciImage otherDigest = push(up, "signed/otherdigest", "v1");
    OciImage elsewhere = push(up, "signed/otherdigest", "v2");
    sign(
        up,
        "signed/otherdigest",
        otherDigest.manifestDigest(),
        CosignSignatures.Layer.signed(
            TRUSTED.getPrivate(),
            CosignSignatures.payload(UP + "/signed/otherdigest:v1", elsewhere.manifestDigest())));
    OciImage flipped = push(up, "signed/flipped", "v1");
    byte[] payload = CosignSignatures.payload(UP + "/signed/flipped:v1", flipped.manifestDigest());
    byte[] sig = CosignSignatures.sign(TRUSTED.getPrivate(), payload);
    sig[sig.length - 5] ^= 0x01;
    sign(up, "signed/flipped", flipped.manifestDigest(), new CosignSignatures.Layer(payload, sig));

    assertRefused(unsigned, "signed/unsigned", "no_signature");
    assertRefused(otherKey, "signed/otherkey", "unknown_key");
    assertRefused(otherDigest, "signed/otherdigest", "digest_mismatch");
    assertRefused(flipped, "signed/flipped", "unknown_key");
    String metrics =
        new String(Http.getManifest(proxy.url() + "/metrics").body(), StandardCharsets.UTF_8);
    assertThat(metrics)
        .contains(
            "registry_proxy_policy_decisions_total{decision=\"refuse\",reason=\"digest_mismatch\",upstream=\""
                + UP
                + "\"}");
  }

  @Test
  void aTagMovedUpstreamToAnUnsignedDigest_isRefused() throws Exception {
    OciImage first = push(up, "signed/moving", "v1");
    sign(
        up,
        "signed/moving",
        first.manifestDigest(),
        TRUSTED.getPrivate(),
        UP + "/signed/moving:v1");
    assertThat(manifest(proxy, "signed/moving", "v1").statusCode()).isEqualTo(200);

    OciImage moved = push(up, "signed/moving", "v1");

    assertRefused(moved, "signed/moving", "no_signature");
  }

  @Test
  void remapIdentity_admitsAnImageSignedAsTheVendorsName_servedUnderOurUpstreamsName()
      throws Exception {
    OciImage vendor = push(up, "vendor/app", "v1");
    sign(
        up,
        "vendor/app",
        vendor.manifestDigest(),
        TRUSTED.getPrivate(),
        "vendor.example.com/app:v1");
    OciImage ours = push(up, "vendor/ours", "v1");
    sign(up, "vendor/ours", ours.manifestDigest(), TRUSTED.getPrivate(), UP + "/vendor/ours:v1");

    Skopeo.DirImage copied =
        Skopeo.copyToDir(ref("vendor/app:v1"), work.resolve("vendor"), null, false);

    assertThat(copied.storedDigests())
        .containsExactlyInAnyOrderElementsOf(vendor.image().allDigests());
    assertRefused(ours, "vendor/ours", "identity_mismatch");
  }

  @Test
  void aBundleSignatureFoundThroughTheReferrersTagSchema_admitsTheImage() throws Exception {
    OciImage image = push(up, "bundled/app", "v1");
    signWithBundle(up, "bundled/app", image, TRUSTED.getPrivate());

    Skopeo.DirImage copied =
        Skopeo.copyToDir(ref("bundled/app:v1"), work.resolve("bundled"), null, false);

    assertThat(copied.storedDigests())
        .containsExactlyInAnyOrderElementsOf(image.image().allDigests());
  }

  @Test
  void upstreamOff_theCachedSignedImageIsStillServed_andOneNeverAdmittedIsNot() throws Exception {
    try (UpstreamRegistry own = UpstreamRegistry.startOpen();
        ProxyProcess p = proxyOf(own).start()) {
      OciImage signed = push(own, "signed/kept", "v1");
      sign(
          own,
          "signed/kept",
          signed.manifestDigest(),
          TRUSTED.getPrivate(),
          UP + "/signed/kept:v1");
      OciImage refused = push(own, "signed/never", "v1");
      OciImage uncached = push(own, "signed/uncached", "v1");
      sign(
          own,
          "signed/uncached",
          uncached.manifestDigest(),
          TRUSTED.getPrivate(),
          UP + "/signed/uncached:v1");
      String kept = p.hostPort() + "/" + UP + "/signed/kept:v1";
      Skopeo.copyToDir(kept, work.resolve("kept-online"), null, false);
      assertThat(manifest(p, "signed/never", "v1").statusCode()).isEqualTo(403);

      own.stop();

      Skopeo.DirImage offline = Skopeo.copyToDir(kept, work.resolve("kept-offline"), null, false);
      assertThat(offline.storedDigests())
          .containsExactlyInAnyOrderElementsOf(signed.image().allDigests());
      HttpResponse<byte[]> never = manifest(p, "signed/never", "v1");
      assertThat(never.statusCode()).as(new String(never.body())).isEqualTo(403);
      assertThat(manifest(p, "signed/uncached", "v1").statusCode())
          .as("never fetched, upstream down: nothing to serve")
          .isGreaterThanOrEqualTo(500);
      for (String blob : refused.blobDigests()) {
        assertThat(Http.status(p.url() + "/v2/" + UP + "/signed/never/blobs/" + blob))
            .isEqualTo(403);
      }
    }
  }

  @Test
  void audit_reportsCachedImagesThatNoLongerSatisfyThePolicy_afterTheKeyWasReplaced()
      throws Exception {
    try (UpstreamRegistry own = UpstreamRegistry.startOpen();
        ProxyProcess p = proxyOf(own).start()) {
      OciImage image = push(own, "signed/audited", "v1");
      sign(
          own,
          "signed/audited",
          image.manifestDigest(),
          TRUSTED.getPrivate(),
          UP + "/signed/audited:v1");
      assertThat(manifest(p, "signed/audited", "v1").statusCode()).isEqualTo(200);
      Path otherKey =
          Files.writeString(work.resolve("other.pub"), CosignSignatures.pem(OTHER.getPublic()));
      Path rotated =
          Files.writeString(
              work.resolve("rotated.yaml"),
              Files.readString(p.configFile()).replace(key.toString(), otherKey.toString()));
      own.stop(); // audit reads the cache alone

      CommandResult ok = ProxyCli.run("audit", "--config", p.configFile().toString());
      CommandResult failing = ProxyCli.run("audit", "--config", rotated.toString());

      String line = UP + "/signed/audited:v1 " + image.manifestDigest();
      assertThat(ok.exitCode()).as(ok.describe()).isZero();
      assertThat(ok.stdout()).contains("OK      " + line + " (signed, key " + key);
      assertThat(failing.exitCode()).as(failing.describe()).isEqualTo(1);
      assertThat(failing.stdout())
          .contains("FAIL    " + line + " unknown_key")
          .contains("1 cached image(s) under a signature rule, 1 no longer satisfy the policy");
    }
  }
}
