package dev.ociproxy.it;

import static dev.ociproxy.it.ClientRig.HOSTILE;
import static dev.ociproxy.it.ClientRig.OPEN;
import static dev.ociproxy.it.ClientRig.PRIVATE;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.it.support.Availability;
import dev.ociproxy.it.support.CommandResult;
import dev.ociproxy.it.support.Containerd;
import dev.ociproxy.it.support.OciImage;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Tag;

/**
 * containerd 1.6 pulls through the proxy as a {@code hosts.toml} mirror (every request carries
 * {@code ?ns=<registry>}, and a tag is resolved with HEAD, then the manifest is fetched by digest):
 * the {@link ClientScenarios}.
 */
@Tag("container-runtime")
class ContainerdMirrorIT extends ClientScenarios {

  @Override
  Availability clientAvailability() {
    return Containerd.availability();
  }

  @Override
  PullingClient startClient(ClientRig rig) {
    Containerd containerd = Containerd.start();
    for (String registry : new String[] {OPEN, PRIVATE, HOSTILE}) {
      containerd.mirror(registry, rig.proxy.hostPort());
    }
    return new ContainerdClient(containerd);
  }

  private record ContainerdClient(Containerd containerd) implements PullingClient {

    @Override
    public List<String> tagPullRequests(
        String upstream, String repo, String tag, String manifestDigest) {
      return List.of(
          "HEAD /v2/" + repo + "/manifests/" + tag + "?ns=" + upstream + " 200",
          "GET /v2/" + repo + "/manifests/" + manifestDigest + "?ns=" + upstream + " 200");
    }

    @Override
    public List<Platforms> multiArchPulls() {
      return List.of(Platforms.ALL);
    }

    @Override
    public CommandResult tryPull(String ref, Platforms which) {
      if (which.all()) {
        return containerd.tryPull(ref, "--all-platforms");
      }
      return which.only() == null
          ? containerd.tryPull(ref)
          : containerd.tryPull(ref, "--platform", which.only().toString());
    }

    /**
     * The digest the reference points at (the index for a multi-arch image) and every blob in the
     * content store.
     */
    @Override
    public void assertStored(String ref, OciImage image, Platforms which) {
      Set<String> expected = new LinkedHashSet<>();
      image.index().ifPresent(i -> expected.add(i.digest()));
      which.of(image).forEach(i -> expected.addAll(i.allDigests()));
      assertThat(containerd.imageDigest(ref)).isEqualTo(image.digest());
      assertThat(containerd.contentDigests()).containsExactlyInAnyOrderElementsOf(expected);
    }

    @Override
    public void assertKeptNothing(String ref, Set<String> digests) {
      assertThat(containerd.ctr("image", "ls", "-q").orThrow().stdout()).doesNotContain(ref);
      assertThat(containerd.contentDigests()).doesNotContainAnyElementsOf(digests);
    }

    /**
     * Removes every image and every blob (a failed pull leaves unreferenced content that the
     * garbage collector keeps until its lease expires).
     */
    @Override
    public void emptyStore() {
      containerd.removeAllImages();
      Set<String> left = containerd.contentDigests();
      if (!left.isEmpty()) {
        List<String> args = new ArrayList<>(List.of("content", "rm"));
        args.addAll(left);
        containerd.ctr(args.toArray(String[]::new)).orThrow();
      }
      assertThat(containerd.contentDigests())
          .as("containerd content after emptying the store")
          .isEmpty();
    }

    @Override
    public void close() {
      containerd.close();
    }
  }
}
