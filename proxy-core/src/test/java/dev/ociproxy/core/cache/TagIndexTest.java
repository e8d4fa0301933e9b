package dev.ociproxy.core.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.MediaTypes;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TagIndexTest {
  private static final RepositoryName REPO = new RepositoryName("library/alpine");
  private static final Tag TAG = new Tag("3.19");
  private static final Digest D1 = Digest.sha256("one".getBytes(StandardCharsets.UTF_8));
  private static final Digest D2 = Digest.sha256("two".getBytes(StandardCharsets.UTF_8));

  @TempDir Path root;

  @Test
  void unknownTagIsNull() {
    assertThat(new TagIndex(root, "docker.io").get(REPO, TAG)).isNull();
  }

  @Test
  void putThenGetReturnsTheEntry() {
    TagIndex index = new TagIndex(root, "docker.io");
    TagIndex.Entry e = new TagIndex.Entry(D1, MediaTypes.OCI_INDEX, 1234L, true);

    index.put(REPO, TAG, e);

    assertThat(index.get(REPO, TAG)).isEqualTo(e);
  }

  @Test
  void entrySurvivesANewIndexOnTheSameDirectory() {
    TagIndex.Entry e =
        new TagIndex.Entry(D1, MediaTypes.DOCKER_MANIFEST, 1_700_000_000_000L, false);
    new TagIndex(root, "docker.io").put(REPO, TAG, e);

    TagIndex restarted = new TagIndex(root, "docker.io");

    assertThat(restarted.get(REPO, TAG)).isEqualTo(e);
  }

  @Test
  void tagIsAnsweredFromMemoryAtOnceAndItsFileWrittenInTheBackground() {
    DiskAppenderTest.ManualExecutor background = new DiskAppenderTest.ManualExecutor();
    TagIndex index = new TagIndex(root, "docker.io", background);
    TagIndex.Entry e = new TagIndex.Entry(D1, MediaTypes.OCI_INDEX, 1234L, true);

    index.put(REPO, TAG, e);

    assertThat(index.get(REPO, TAG)).isEqualTo(e);
    assertThat(new TagIndex(root, "docker.io").get(REPO, TAG)).as("not on disk yet").isNull();
    background.runAll();
    assertThat(new TagIndex(root, "docker.io").get(REPO, TAG)).isEqualTo(e);
  }

  @Test
  void olderRecordWrittenLateNeverReplacesANewerOne() {
    java.util.List<Runnable> writes = new java.util.ArrayList<>();
    TagIndex index = new TagIndex(root, "docker.io", writes::add);
    TagIndex.Entry older = new TagIndex.Entry(D1, MediaTypes.OCI_INDEX, 1L, true);
    TagIndex.Entry newer = new TagIndex.Entry(D2, MediaTypes.OCI_INDEX, 2L, true);

    index.put(REPO, TAG, older);
    index.put(REPO, TAG, newer);
    writes.get(1).run(); // the newer write runs first,
    writes.get(0).run(); // the older one after it

    assertThat(new TagIndex(root, "docker.io").get(REPO, TAG)).isEqualTo(newer);
  }

  @Test
  void laterPutReplacesTheEntryOnDiskToo() {
    TagIndex index = new TagIndex(root, "docker.io");
    index.put(REPO, TAG, new TagIndex.Entry(D1, MediaTypes.OCI_MANIFEST, 1L, true));
    TagIndex.Entry newer = new TagIndex.Entry(D2, MediaTypes.OCI_MANIFEST, 2L, true);

    index.put(REPO, TAG, newer);

    assertThat(index.get(REPO, TAG)).isEqualTo(newer);
    assertThat(new TagIndex(root, "docker.io").get(REPO, TAG)).isEqualTo(newer);
  }

  @Test
  void removeForgetsTheTagInMemoryAndOnDisk() {
    TagIndex index = new TagIndex(root, "docker.io");
    index.put(REPO, TAG, new TagIndex.Entry(D1, MediaTypes.OCI_MANIFEST, 1L, true));

    index.remove(REPO, TAG);

    assertThat(index.get(REPO, TAG)).isNull();
    assertThat(new TagIndex(root, "docker.io").get(REPO, TAG)).isNull();
  }

  @Test
  void removingAnUnknownTagIsHarmless() {
    TagIndex index = new TagIndex(root, "docker.io");

    index.remove(REPO, TAG);

    assertThat(index.get(REPO, TAG)).isNull();
  }

  @Test
  void upstreamsAndRepositoriesAndTagsDoNotShareEntries() {
    TagIndex hub = new TagIndex(root, "docker.io");
    hub.put(REPO, TAG, new TagIndex.Entry(D1, MediaTypes.OCI_MANIFEST, 1L, true));

    assertThat(new TagIndex(root, "ghcr.io").get(REPO, TAG)).isNull();
    assertThat(hub.get(new RepositoryName("library/busybox"), TAG)).isNull();
    assertThat(hub.get(new RepositoryName("library"), TAG)).isNull();
    assertThat(hub.get(REPO, new Tag("latest"))).isNull();
  }

  @Test
  void nestedRepositoryNamesDoNotClashWithTagsOfTheirParent() {
    TagIndex index = new TagIndex(root, "r");
    RepositoryName parent = new RepositoryName("a");
    RepositoryName child = new RepositoryName("a/b");
    index.put(parent, new Tag("b"), new TagIndex.Entry(D1, MediaTypes.OCI_MANIFEST, 1L, true));
    index.put(child, new Tag("b"), new TagIndex.Entry(D2, MediaTypes.OCI_MANIFEST, 1L, true));

    TagIndex restarted = new TagIndex(root, "r");

    assertThat(restarted.get(parent, new Tag("b")).digest()).isEqualTo(D1);
    assertThat(restarted.get(child, new Tag("b")).digest()).isEqualTo(D2);
  }

  @Test
  void recordIsStoredUnderTagsUpstreamRepoUnderscoreTags() {
    new TagIndex(root, "docker.io")
        .put(REPO, TAG, new TagIndex.Entry(D1, MediaTypes.OCI_MANIFEST, 1L, true));

    assertThat(root.resolve("tags/docker.io/library/alpine/_tags/3.19")).isRegularFile();
  }

  @Test
  void unreadableRecordIsTreatedAsUnknown() throws IOException {
    Path f = root.resolve("tags/docker.io/library/alpine/_tags/3.19");
    Files.createDirectories(f.getParent());
    Files.writeString(f, "{not json");

    assertThat(new TagIndex(root, "docker.io").get(REPO, TAG)).isNull();
  }

  @Test
  void recordWithAnInvalidDigestIsTreatedAsUnknown() throws IOException {
    Path f = root.resolve("tags/docker.io/library/alpine/_tags/3.19");
    Files.createDirectories(f.getParent());
    Files.writeString(f, "{\"digest\":\"sha256:XYZ\",\"mediaType\":\"x\",\"verifiedAt\":1}");

    assertThat(new TagIndex(root, "docker.io").get(REPO, TAG)).isNull();
  }
}
