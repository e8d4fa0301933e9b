package dev.ociproxy.core.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.MediaTypes;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TagCatalogTest {
  private static final Digest D1 = Digest.sha256("one".getBytes(StandardCharsets.UTF_8));
  private static final Digest D2 = Digest.sha256("two".getBytes(StandardCharsets.UTF_8));

  @TempDir Path root;

  private static TagIndex.Entry entry(Digest d, long at) {
    return new TagIndex.Entry(d, MediaTypes.OCI_MANIFEST, at, true);
  }

  @Test
  void firstReadFindsTheRecordsAPreviousRunLeftOnDisk_inUpstreamRepositoryTagOrder() {
    new TagIndex(root, "b.example").put(new RepositoryName("lib/app"), new Tag("v1"), entry(D1, 1));
    new TagIndex(root, "a.example").put(new RepositoryName("lib/app/sub"), new Tag("x"), entry(D1, 2));
    new TagIndex(root, "a.example").put(new RepositoryName("lib/app"), new Tag("v2"), entry(D2, 3));
    new TagIndex(root, "a.example").put(new RepositoryName("lib/app-x"), new Tag("v0"), entry(D2, 4));

    TagCatalog catalog = new TagCatalog(root);

    assertThat(catalog.rows().values()).extracting(r -> r.upstream() + "/" + r.repository().value() + ":" + r.tag().value())
        .containsExactly("a.example/lib/app:v2", "a.example/lib/app-x:v0", "a.example/lib/app/sub:x", "b.example/lib/app:v1");
    assertThat(catalog.rows().get(TagCatalog.key("a.example", "lib/app", "v2")).entry()).isEqualTo(entry(D2, 3));
  }

  @Test
  void aRepositorysRowsAreOneRangeThatExcludesLongerNamesStartingTheSame() {
    TagCatalog catalog = new TagCatalog(root);
    catalog.rows(); // tracking from now on
    TagIndex index = new TagIndex(root, "up", Runnable::run, catalog);
    index.put(new RepositoryName("lib/app"), new Tag("v1"), entry(D1, 1));
    index.put(new RepositoryName("lib/app"), new Tag("v2"), entry(D1, 1));
    index.put(new RepositoryName("lib/app2"), new Tag("v1"), entry(D1, 1));
    index.put(new RepositoryName("lib/app/sub"), new Tag("v1"), entry(D1, 1));

    String from = TagCatalog.prefix("up", "lib/app");
    assertThat(catalog.rows().tailMap(from).keySet().stream().takeWhile(k -> k.startsWith(from)))
        .containsExactly(TagCatalog.key("up", "lib/app", "v1"), TagCatalog.key("up", "lib/app", "v2"));
  }

  @Test
  void onceRead_theCatalogFollowsPutsAndRemovesWithoutReadingTheDiskAgain() {
    TagCatalog catalog = new TagCatalog(root);
    TagIndex index = new TagIndex(root, "up", task -> {}, catalog); // tag files are never written
    RepositoryName repo = new RepositoryName("lib/app");
    assertThat(catalog.rows()).isEmpty();

    index.put(repo, new Tag("v1"), entry(D1, 1));
    index.put(repo, new Tag("v1"), entry(D2, 2));
    index.put(repo, new Tag("v2"), entry(D1, 3));
    index.remove(repo, new Tag("v2"));

    assertThat(catalog.rows().values()).singleElement()
        .satisfies(r -> assertThat(r.entry()).isEqualTo(entry(D2, 2)));
  }

  @Test
  void anUnreadableRecordIsLeftOut() throws Exception {
    new TagIndex(root, "up").put(new RepositoryName("lib/app"), new Tag("v1"), entry(D1, 1));
    java.nio.file.Files.writeString(root.resolve("tags/up/lib/app/_tags/broken"), "not json");

    assertThat(new TagCatalog(root).rows().values()).extracting(r -> r.tag().value()).containsExactly("v1");
  }
}
