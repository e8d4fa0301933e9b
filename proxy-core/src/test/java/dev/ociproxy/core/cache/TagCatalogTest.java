package dev.ociproxy.core.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.MediaTypes;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
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

  private static String show(TagCatalog.Name n) {
    return n.upstream() + "/" + n.repository() + ":" + n.tag();
  }

  @Test
  void
      firstListingFindsTheRecordsAPreviousRunLeft_inUpstreamRepositoryTagOrder_andReadsEachWhenAsked() {
    new TagIndex(root, "b.example").put(new RepositoryName("lib/app"), new Tag("v1"), entry(D1, 1));
    new TagIndex(root, "a.example")
        .put(new RepositoryName("lib/app/sub"), new Tag("x"), entry(D1, 2));
    new TagIndex(root, "a.example").put(new RepositoryName("lib/app"), new Tag("v2"), entry(D2, 3));
    new TagIndex(root, "a.example")
        .put(new RepositoryName("lib/app-x"), new Tag("v0"), entry(D2, 4));

    TagCatalog catalog = new TagCatalog(root);

    assertThat(catalog.names())
        .extracting(TagCatalogTest::show)
        .containsExactly(
            "a.example/lib/app:v2",
            "a.example/lib/app-x:v0",
            "a.example/lib/app/sub:x",
            "b.example/lib/app:v1");
    TagCatalog.Name v2 = new TagCatalog.Name("a.example", "lib/app", "v2");
    assertThat(catalog.entryIfRead(v2)).as("listing reads no record").isNull();
    assertThat(catalog.entry(v2)).isEqualTo(entry(D2, 3));
    assertThat(catalog.entryIfRead(v2)).isEqualTo(entry(D2, 3));
  }

  @Test
  void aRepositorysTagsAreOneRangeFromItsFirstName_beforeLongerNamesStartingTheSame() {
    TagCatalog catalog = new TagCatalog(root);
    catalog.names(); // following changes from now on
    TagIndex index = new TagIndex(root, "up", Runnable::run, catalog);
    index.put(new RepositoryName("lib/app"), new Tag("v1"), entry(D1, 1));
    index.put(new RepositoryName("lib/app"), new Tag("v2"), entry(D1, 1));
    index.put(new RepositoryName("lib/app2"), new Tag("v1"), entry(D1, 1));
    index.put(new RepositoryName("lib/app/sub"), new Tag("v1"), entry(D1, 1));

    assertThat(
            catalog.names().tailSet(TagCatalog.Name.first("up", "lib/app")).stream()
                .takeWhile(n -> n.repository().equals("lib/app")))
        .extracting(TagCatalog.Name::tag)
        .containsExactly("v1", "v2");
  }

  @Test
  void onceListed_theCatalogFollowsPutsAndRemovesWithoutTheDisk() {
    TagCatalog catalog = new TagCatalog(root);
    TagIndex index = new TagIndex(root, "up", task -> {}, catalog); // tag files are never written
    RepositoryName repo = new RepositoryName("lib/app");
    assertThat(catalog.names()).isEmpty();

    index.put(repo, new Tag("v1"), entry(D1, 1));
    index.put(repo, new Tag("v1"), entry(D2, 2));
    index.put(repo, new Tag("v2"), entry(D1, 3));
    index.remove(repo, new Tag("v2"));

    assertThat(catalog.names()).extracting(TagCatalogTest::show).containsExactly("up/lib/app:v1");
    assertThat(catalog.entryIfRead(new TagCatalog.Name("up", "lib/app", "v1")))
        .isEqualTo(entry(D2, 2));
  }

  @Test
  void fillReadsTheRecordsInBatches_untilEveryOneIsRead() {
    for (int i = 0; i < 5; i++) {
      new TagIndex(root, "up").put(new RepositoryName("lib/app"), new Tag("v" + i), entry(D1, i));
    }
    TagCatalog catalog = new TagCatalog(root);
    catalog.names();

    assertThat(catalog.fill(2)).isTrue();
    assertThat(catalog.names()).filteredOn(n -> catalog.entryIfRead(n) != null).hasSize(2);
    assertThat(catalog.fill(2)).isTrue();
    assertThat(catalog.fill(2)).isFalse();
    assertThat(catalog.names()).allSatisfy(n -> assertThat(catalog.entryIfRead(n)).isNotNull());
  }

  @Test
  void aRecordGoneOrUnreadableSinceTheListingIsDropped_andTempFilesAreNeverListed()
      throws Exception {
    new TagIndex(root, "up").put(new RepositoryName("lib/app"), new Tag("v1"), entry(D1, 1));
    Files.writeString(root.resolve("tags/up/lib/app/_tags/broken"), "not json");
    Files.writeString(root.resolve("tags/up/lib/app/_tags/.v1.7.tmp"), "{}");
    TagCatalog catalog = new TagCatalog(root);
    assertThat(catalog.names()).extracting(TagCatalog.Name::tag).containsExactly("broken", "v1");

    assertThat(catalog.entry(new TagCatalog.Name("up", "lib/app", "broken"))).isNull();

    assertThat(catalog.names()).extracting(TagCatalog.Name::tag).containsExactly("v1");
  }
}
