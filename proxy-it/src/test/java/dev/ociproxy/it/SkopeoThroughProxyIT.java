package dev.ociproxy.it;

import static dev.ociproxy.it.CacheAssertions.assertNoFileWithContent;
import static dev.ociproxy.it.CacheAssertions.assertNotCached;
import static dev.ociproxy.it.ClientRig.HOSTILE;
import static dev.ociproxy.it.ClientRig.OPEN;
import static dev.ociproxy.it.ClientRig.PRIVATE;
import static dev.ociproxy.it.ClientRig.READER;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.it.support.CommandResult;
import dev.ociproxy.it.support.Credentials;
import dev.ociproxy.it.support.HostileImages;
import dev.ociproxy.it.support.Htpasswd;
import dev.ociproxy.it.support.OciImage;
import dev.ociproxy.it.support.OciImages;
import dev.ociproxy.it.support.Platform;
import dev.ociproxy.it.support.ProcessGuard;
import dev.ociproxy.it.support.ProxyProcess;
import dev.ociproxy.it.support.Skopeo;
import dev.ociproxy.it.support.UpstreamRegistry;
import dev.ociproxy.testing.HostileRegistry;
import dev.ociproxy.testing.Lie;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * skopeo 1.9 copies through the proxy by naming the upstream in the path
 * ({@code docker://<proxy>/<upstream>/<repo>:<tag>}): what it stores has exactly the upstream's
 * digests, the proxy serves the same copy with the upstream switched off, a lying upstream fails the
 * copy and leaves nothing of the lie in the cache, and {@code --src-creds} works against a proxy that
 * requires client authentication.
 */
@ExtendWith(ProcessGuard.class)
class SkopeoThroughProxyIT {
  static ClientRig rig;

  @TempDir Path tmp;

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

  private static String viaProxy(String upstream, String repoAndRef) {
    return rig.proxy.hostPort() + "/" + upstream + "/" + repoAndRef;
  }

  @Test
  void singleArchByTag_isCopiedWithTheUpstreamDigests_andCopiedAgainWithUpstreamDown() throws Exception {
    OciImage image = OciImages.singleArch(rig.layout("tag"), "v1", 300_000, 20_000);
    String ref = viaProxy(OPEN, "sk/tag:v1");
    try (UpstreamRegistry up = rig.startOpen()) {
      rig.push(image, up, "sk/tag");

      Skopeo.DirImage copied = Skopeo.copyToDir(ref, tmp.resolve("online"), null, false);

      assertThat(copied.manifestDigest()).isEqualTo(image.manifestDigest());
      assertThat(copied.storedDigests()).containsExactlyInAnyOrderElementsOf(image.image().allDigests());

      ClientRig.withUpstreamDown(up, () -> {
        Skopeo.DirImage offline = Skopeo.copyToDir(ref, tmp.resolve("offline"), null, false);
        assertThat(offline.storedDigests()).containsExactlyInAnyOrderElementsOf(image.image().allDigests());
      });
    }
  }

  @Test
  void singleArchByDigest_isCopiedWithTheUpstreamDigests_andCopiedAgainWithUpstreamDown() throws Exception {
    OciImage image = OciImages.singleArch(rig.layout("digest"), "v1", 200_000);
    String ref = viaProxy(OPEN, "sk/digest@" + image.manifestDigest());
    try (UpstreamRegistry up = rig.startOpen()) {
      rig.push(image, up, "sk/digest");

      Skopeo.DirImage copied = Skopeo.copyToDir(ref, tmp.resolve("online"), null, false);

      assertThat(copied.storedDigests()).containsExactlyInAnyOrderElementsOf(image.image().allDigests());

      ClientRig.withUpstreamDown(up, () -> {
        Skopeo.DirImage offline = Skopeo.copyToDir(ref, tmp.resolve("offline"), null, false);
        assertThat(offline.storedDigests()).containsExactlyInAnyOrderElementsOf(image.image().allDigests());
      });
    }
  }

  @Test
  void multiArchIndexWithAll_copiesEveryManifestAndLayer_andAgainWithUpstreamDown() throws Exception {
    OciImage image = OciImages.multiArch(rig.layout("multi"), "multi", 150_000, 10_000);
    String ref = viaProxy(OPEN, "sk/multi:multi");
    try (UpstreamRegistry up = rig.startOpen()) {
      rig.push(image, up, "sk/multi");

      Skopeo.DirImage copied = Skopeo.copyToDir(ref, tmp.resolve("online"), null, true);

      assertThat(copied.manifestDigest()).isEqualTo(image.digest());
      assertThat(copied.storedDigests()).containsExactlyInAnyOrderElementsOf(image.allDigests());

      ClientRig.withUpstreamDown(up, () -> {
        Skopeo.DirImage offline = Skopeo.copyToDir(ref, tmp.resolve("offline"), null, true);
        assertThat(offline.storedDigests()).containsExactlyInAnyOrderElementsOf(image.allDigests());
      });
    }
  }

  @Test
  void manySmallLayers_areAllCopied_andAgainWithUpstreamDown() throws Exception {
    OciImage image = OciImages.manySmallLayers(rig.layout("many"), "v1", 40, 2_000);
    String ref = viaProxy(OPEN, "sk/many:v1");
    try (UpstreamRegistry up = rig.startOpen()) {
      rig.push(image, up, "sk/many");

      Skopeo.DirImage copied = Skopeo.copyToDir(ref, tmp.resolve("online"), null, false);

      assertThat(copied.storedDigests()).hasSize(42).containsExactlyInAnyOrderElementsOf(image.image().allDigests());

      ClientRig.withUpstreamDown(up, () -> {
        Skopeo.DirImage offline = Skopeo.copyToDir(ref, tmp.resolve("offline"), null, false);
        assertThat(offline.storedDigests()).containsExactlyInAnyOrderElementsOf(image.image().allDigests());
      });
    }
  }

  @Test
  void privateTokenUpstream_isCopiedWithoutClientCredentials_becauseTheProxyDoesTheBearerFlow() throws Exception {
    OciImage image = OciImages.singleArch(rig.layout("private"), "v1", 250_000);
    String ref = viaProxy(PRIVATE, "sk/private:v1");
    try (UpstreamRegistry up = rig.startPrivate()) {
      rig.push(image, up, "sk/private");

      Skopeo.DirImage copied = Skopeo.copyToDir(ref, tmp.resolve("online"), null, false);

      assertThat(copied.storedDigests()).containsExactlyInAnyOrderElementsOf(image.image().allDigests());
      // Only the proxy knows the reader's password.
      assertThat(rig.tokens.requests()).anySatisfy(r -> {
        assertThat(r.user()).isEqualTo(READER.username());
        assertThat(r.scopes()).contains("repository:sk/private:pull");
        assertThat(r.status()).isEqualTo(200);
      });

      ClientRig.withUpstreamDown(up, () -> {
        Skopeo.DirImage offline = Skopeo.copyToDir(ref, tmp.resolve("offline"), null, false);
        assertThat(offline.storedDigests()).containsExactlyInAnyOrderElementsOf(image.image().allDigests());
      });
    }
  }

  @Test
  void layerWithFlippedLastByte_failsTheCopy_andTheCacheDoesNotKeepIt() {
    OciImage image = OciImages.singleArch(rig.layout("flip"), "v1", 200_000, 30_000);
    HostileImages.put(rig.hostile, image, "sk/flip");
    String liar = image.image().layers().get(0).digest();
    rig.hostile.lie(liar, Lie.FLIP_LAST_BYTE);
    Path out = tmp.resolve("flip");

    CommandResult copy = copy(viaProxy(HOSTILE, "sk/flip:v1"), out, null);

    assertThat(copy.succeeded()).as(copy.describe()).isFalse();
    assertThat(out.resolve("manifest.json")).doesNotExist();
    assertThat(out.resolve(liar.substring("sha256:".length()))).doesNotExist();
    assertThat(rig.hostile.count("GET", "/v2/sk/flip/blobs/" + liar)).isGreaterThanOrEqualTo(1);
    assertNotCached(rig.proxy.cacheDir(), liar);
  }

  @Test
  void platformManifestSubstitutedByTheUpstream_failsTheCopy_andTheCacheDoesNotKeepIt() {
    OciImage image = OciImages.multiArch(rig.layout("subst"), "multi", 20_000);
    HostileImages.put(rig.hostile, image, "sk/subst");
    String child = image.image(Platform.LINUX_ARM64).manifest().digest();
    rig.hostile.lie(child, Lie.MANIFEST_BY_DIGEST_SUBSTITUTED);
    Path out = tmp.resolve("subst");

    CommandResult copy = Skopeo.run(List.of("copy", "--all", "--src-tls-verify=false", "--preserve-digests",
        "docker://" + viaProxy(HOSTILE, "sk/subst:multi"), "dir:" + out));

    assertThat(copy.succeeded()).as(copy.describe()).isFalse();
    assertThat(out.resolve("manifest.json")).doesNotExist();
    assertThat(rig.awaitAccessLog("/sk/subst/manifests/" + child))
        .isNotEmpty().allSatisfy(a -> assertThat(a.status()).isEqualTo(502));
    assertNotCached(rig.proxy.cacheDir(), child);
    assertNoFileWithContent(rig.proxy.cacheDir(), HostileRegistry.substituteManifest());
  }

  @Test
  void srcCreds_areRequiredAndAcceptedByAProxyWithClientAuth() throws Exception {
    Htpasswd.availability().assumeAvailable();
    Credentials alice = new Credentials("alice", "alice-pass-7");
    Path htpasswd = Htpasswd.write(tmp.resolve("htpasswd"), List.of(alice));
    OciImage image = OciImages.singleArch(rig.layout("auth"), "v1", 100_000);
    try (UpstreamRegistry up = rig.startOpen();
        ProxyProcess authProxy = ProxyProcess.builder()
            .upstream(OPEN, up.url())
            .extraYaml("auth:\n  realm: \"registry-proxy\"\n  htpasswd: \"" + htpasswd + "\"\n")
            .start()) {
      rig.push(image, up, "sk/auth");
      String ref = authProxy.hostPort() + "/" + OPEN + "/sk/auth:v1";

      CommandResult anonymous = copy(ref, tmp.resolve("anonymous"), null);
      CommandResult wrong = copy(ref, tmp.resolve("wrong"), new Credentials("alice", "not-her-password"));
      Skopeo.DirImage copied = Skopeo.copyToDir(ref, tmp.resolve("alice"), alice, false);

      assertThat(anonymous.succeeded()).as(anonymous.describe()).isFalse();
      assertThat(anonymous.stderr()).containsIgnoringCase("unauthorized");
      assertThat(wrong.succeeded()).as(wrong.describe()).isFalse();
      assertThat(copied.storedDigests()).containsExactlyInAnyOrderElementsOf(image.image().allDigests());
      assertThat(Files.readString(authProxy.logFile())).doesNotContain(alice.password());
    }
  }

  private static CommandResult copy(String ref, Path out, Credentials creds) {
    List<String> args = new java.util.ArrayList<>(List.of("copy", "--src-tls-verify=false", "--preserve-digests"));
    if (creds != null) {
      args.add("--src-creds=" + creds.colonForm());
    }
    args.add("docker://" + ref);
    args.add("dir:" + out);
    return Skopeo.run(args);
  }
}
