package dev.ociproxy.core.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.RepositoryName;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RepositoryLinksTest {
  private static final RepositoryName REPO = new RepositoryName("library/alpine");
  private static final RepositoryName OTHER = new RepositoryName("private/app");
  private static final Digest D = Digest.sha256("layer".getBytes(StandardCharsets.UTF_8));

  @TempDir Path root;

  @Test
  void linkIsKnownAtOnceAndItsFileFollowsInTheBackground() {
    DiskAppenderTest.ManualExecutor background = new DiskAppenderTest.ManualExecutor();
    RepositoryLinks links = new RepositoryLinks(root, "docker.io", background);

    links.add(REPO, D);

    assertThat(links.has(REPO, D)).isTrue();
    assertThat(new RepositoryLinks(root, "docker.io").has(REPO, D)).as("not on disk yet").isFalse();
    background.runAll();
    assertThat(new RepositoryLinks(root, "docker.io").has(REPO, D)).as("after a restart").isTrue();
  }

  @Test
  void linkIsPerRepositoryAndPerUpstream() {
    RepositoryLinks links = new RepositoryLinks(root, "docker.io");

    links.add(REPO, D);

    assertThat(links.has(OTHER, D)).isFalse();
    assertThat(new RepositoryLinks(root, "ghcr.io").has(REPO, D)).isFalse();
  }
}
