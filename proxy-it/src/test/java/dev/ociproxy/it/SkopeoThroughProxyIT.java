package dev.ociproxy.it;

import static dev.ociproxy.it.ClientRig.OPEN;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.it.support.Availability;
import dev.ociproxy.it.support.CommandResult;
import dev.ociproxy.it.support.Credentials;
import dev.ociproxy.it.support.Htpasswd;
import dev.ociproxy.it.support.OciImage;
import dev.ociproxy.it.support.OciImages;
import dev.ociproxy.it.support.ProxyProcess;
import dev.ociproxy.it.support.Skopeo;
import dev.ociproxy.it.support.UpstreamRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * skopeo 1.9 copies through the proxy by naming the upstream in the path ({@code
 * docker://<proxy>/<upstream>/<repo>:<tag>}) into {@code dir:} directories: the {@link
 * ClientScenarios}, and {@code --src-creds} against a proxy that requires client authentication.
 */
class SkopeoThroughProxyIT extends ClientScenarios {

  @TempDir Path tmp;

  @Override
  Availability clientAvailability() {
    return Availability.ok(); // the rig copies with skopeo itself
  }

  @Override
  PullingClient startClient(ClientRig rig) {
    return new SkopeoClient(rig);
  }

  @Test
  void srcCreds_areRequiredAndAcceptedByAProxyWithClientAuth() throws Exception {
    Htpasswd.availability().assumeAvailable();
    Credentials alice = new Credentials("alice", "alice-pass-7");
    Path htpasswd = Htpasswd.write(tmp.resolve("htpasswd"), List.of(alice));
    OciImage image = OciImages.singleArch(rig.layout("auth"), "v1", 100_000);
    try (UpstreamRegistry up = rig.startOpen();
        ProxyProcess authProxy =
            ProxyProcess.builder()
                .upstream(OPEN, up.url())
                .extraYaml("auth:\n  realm: \"registry-proxy\"\n  htpasswd: \"" + htpasswd + "\"\n")
                .start()) {
      rig.push(image, up, "sk/auth");
      String ref = authProxy.hostPort() + "/" + OPEN + "/sk/auth:v1";

      CommandResult anonymous = copy(ref, tmp.resolve("anonymous"), null, false);
      CommandResult wrong =
          copy(ref, tmp.resolve("wrong"), new Credentials("alice", "not-her-password"), false);
      Skopeo.DirImage copied = Skopeo.copyToDir(ref, tmp.resolve("alice"), alice, false);

      assertThat(anonymous.succeeded()).as(anonymous.describe()).isFalse();
      assertThat(anonymous.stderr()).containsIgnoringCase("unauthorized");
      assertThat(wrong.succeeded()).as(wrong.describe()).isFalse();
      assertThat(copied.storedDigests())
          .containsExactlyInAnyOrderElementsOf(image.image().allDigests());
      assertThat(Files.readString(authProxy.logFile())).doesNotContain(alice.password());
    }
  }

  private static CommandResult copy(String ref, Path out, Credentials creds, boolean all) {
    List<String> args =
        new ArrayList<>(List.of("copy", "--src-tls-verify=false", "--preserve-digests"));
    if (all) {
      args.add("--all");
    }
    if (creds != null) {
      args.add("--src-creds=" + creds.colonForm());
    }
    args.add("docker://" + ref);
    args.add("dir:" + out);
    return Skopeo.run(args);
  }

  /** skopeo's store is a {@code dir:} directory; an empty store is a fresh one. */
  private final class SkopeoClient implements PullingClient {
    private final ClientRig rig;
    private Path dir;
    private int stores;

    SkopeoClient(ClientRig rig) {
      this.rig = rig;
    }

    @Override
    public String ref(String upstream, String repoAndRef) {
      return rig.proxy.hostPort() + "/" + upstream + "/" + repoAndRef;
    }

    @Override
    public List<String> tagPullRequests(
        String upstream, String repo, String tag, String manifestDigest) {
      return List.of("GET /v2/" + upstream + "/" + repo + "/manifests/" + tag + " 200");
    }

    @Override
    public List<Platforms> multiArchPulls() {
      return List.of(Platforms.ALL);
    }

    @Override
    public CommandResult tryPull(String ref, Platforms which) {
      if (which.only() != null) {
        throw new IllegalArgumentException(
            "skopeo here copies every platform or its own, not " + which.only());
      }
      return copy(ref, dir, null, which.all());
    }

    @Override
    public void assertStored(String ref, OciImage image, Platforms which) {
      Skopeo.DirImage stored = Skopeo.DirImage.read(dir, null);
      if (which.all()) {
        assertThat(stored.manifestDigest()).isEqualTo(image.digest());
        assertThat(stored.storedDigests()).containsExactlyInAnyOrderElementsOf(image.allDigests());
      } else {
        OciImage.PlatformImage pulled = which.of(image).get(0);
        assertThat(stored.manifestDigest()).isEqualTo(pulled.manifest().digest());
        assertThat(stored.storedDigests()).containsExactlyInAnyOrderElementsOf(pulled.allDigests());
      }
    }

    @Override
    public void assertKeptNothing(String ref, Set<String> digests) {
      assertThat(dir.resolve("manifest.json")).doesNotExist();
      digests.forEach(d -> assertThat(dir.resolve(d.substring(d.indexOf(':') + 1))).doesNotExist());
    }

    @Override
    public void emptyStore() {
      dir = tmp.resolve("store-" + ++stores);
    }

    @Override
    public void close() {
      // The stores are in the test's temporary directory.
    }
  }
}
