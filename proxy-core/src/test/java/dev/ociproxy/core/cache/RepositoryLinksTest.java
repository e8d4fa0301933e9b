package dev.ociproxy.core.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.RepositoryName;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RepositoryLinksTest {
  private static final RepositoryName REPO = new RepositoryName("library/alpine");
  private static final RepositoryName OTHER = new RepositoryName("private/app");
  private static final Digest D = Digest.sha256("layer".getBytes(StandardCharsets.UTF_8));

  @TempDir Path root;

  @Test
  void linkIsKnownAtOnceAndItsRecordFollowsInTheBackground() {
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

  @Test
  void linksAndServedMarksOfManyBlobsTakeAFewShardFilesAndSurviveARestart() throws Exception {
    RepositoryLinks links = new RepositoryLinks(root, "docker.io");
    List<Digest> digests = new ArrayList<>();
    for (int i = 0; i < 600; i++) {
      Digest d = Digest.sha256(("layer " + i).getBytes(StandardCharsets.UTF_8));
      digests.add(d);
      links.add(REPO, d);
      links.addServed(d);
    }

    try (Stream<Path> files = Files.walk(root)) {
      assertThat(files.filter(Files::isRegularFile).count())
          .as("one file per shard, not two per blob")
          .isLessThanOrEqualTo(256);
    }
    RepositoryLinks restarted = new RepositoryLinks(root, "docker.io");
    assertThat(digests).allMatch(d -> restarted.has(REPO, d) && restarted.served(d));
    assertThat(restarted.has(OTHER, digests.get(0))).isFalse();
    assertThat(new RepositoryLinks(root, "ghcr.io").served(digests.get(0))).isFalse();
  }

  @Test
  void aRecordAddedByAnotherProcessIsSeenOnTheNextLookup() {
    RepositoryLinks server = new RepositoryLinks(root, "docker.io");
    assertThat(server.served(D)).isFalse();

    // A one-shot import beside the running server.
    RepositoryLinks importer = new RepositoryLinks(root, "docker.io");
    importer.add(REPO, D);
    importer.addServed(D);

    assertThat(server.has(REPO, D)).isTrue();
    assertThat(server.served(D)).isTrue();
  }

  @Test
  void linksAndServedMarksAnOlderVersionWroteAsFilesStillCount() throws Exception {
    Path upstream = root.resolve("links").resolve("docker.io");
    Path link = upstream.resolve("library/alpine/_links/sha256").resolve(D.hex());
    Path served = upstream.resolve("_served/sha256").resolve(D.hex());
    Files.createDirectories(link.getParent());
    Files.createDirectories(served.getParent());
    Files.createFile(link);
    Files.createFile(served);

    RepositoryLinks links = new RepositoryLinks(root, "docker.io");
    assertThat(links.has(REPO, D)).isTrue();
    assertThat(links.served(D)).isTrue();
    assertThat(links.has(OTHER, D)).isFalse();
  }
}
