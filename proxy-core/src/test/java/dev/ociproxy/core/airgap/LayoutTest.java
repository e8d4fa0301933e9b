package dev.ociproxy.core.airgap;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.cache.RepositoryLinks;
import dev.ociproxy.core.cache.TagIndex;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.MediaTypes;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.registry.MirrorOptions;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Export to an OCI layout (directory and tar) and the verifying import back into a cache. */
class LayoutTest {
  private static final String UP = "up.test";
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path tmp;
  ContentStore source;
  ContentStore target;
  Images.Image app;

  @BeforeEach
  void caches() {
    source = new ContentStore(tmp.resolve("source")).open();
    target = new ContentStore(tmp.resolve("target")).open();
    app = Images.cache(source, UP, Images.multiArch("test/app", "v1", 1));
  }

  private ImageRef ref(String s) {
    return ImageRef.parse(s, List.of(UP), UP);
  }

  private ExportReport export(Path out, Set<Platform> platforms, String... refs)
      throws IOException {
    List<ImageRef> list = java.util.Arrays.stream(refs).map(this::ref).toList();
    return new Exporter(source, Pins.empty()).export(list, platforms, out);
  }

  private ImportReport importInto(Path in) {
    return new Importer(
            target, List.of(UP), UP, null, null, MirrorOptions.DEFAULT_MANIFEST_MAX_BYTES)
        .importFrom(in);
  }

  private TagIndex.Entry targetTag(String repo, String tag) {
    return new TagIndex(target.root(), UP).get(new RepositoryName(repo), new Tag(tag));
  }

  private void assertHoldsWholeImage(ContentStore store, Images.Image img) {
    img.manifests()
        .forEach(d -> assertThat(store.readManifest(d)).as("manifest %s", d).isNotNull());
    img.blobs().forEach(d -> assertThat(store.blobSize(d)).as("blob %s", d).isPositive());
  }

  private void assertTargetCacheIsClean() {
    assertThat(Images.files(target.root().resolve("blobs"))).isEmpty();
    assertThat(Images.files(target.root().resolve("manifests"))).isEmpty();
    assertThat(Images.files(target.root().resolve("tags"))).isEmpty();
    assertThat(Images.files(target.root().resolve("tmp"))).as("leftover temporary files").isEmpty();
  }

  @Test
  void exportedDirectory_isAnOciLayoutNamingTheImageByItsFullReference() throws Exception {
    Path out = tmp.resolve("layout");
    ExportReport r = export(out, Set.of(), "up.test/test/app:v1");

    assertThat(r.ok()).as(String.join("\n", r.lines())).isTrue();
    assertThat(
            JSON.readTree(out.resolve("oci-layout").toFile()).path("imageLayoutVersion").asText())
        .isEqualTo("1.0.0");
    JsonNode entry = JSON.readTree(out.resolve("index.json").toFile()).path("manifests").get(0);
    assertThat(entry.path("digest").asText()).isEqualTo(app.index().toString());
    assertThat(entry.path("mediaType").asText()).isEqualTo(MediaTypes.OCI_INDEX);
    assertThat(entry.path("size").asLong()).isEqualTo(app.indexBytes().length);
    assertThat(entry.path("annotations").path("org.opencontainers.image.ref.name").asText())
        .isEqualTo("up.test/test/app:v1");
    for (Digest d : app.blobs()) {
      assertThat(Files.size(out.resolve("blobs/sha256/" + d.hex()))).isPositive();
    }
    assertThat(Files.readAllBytes(out.resolve("blobs/sha256/" + app.index().hex())))
        .isEqualTo(app.indexBytes());
  }

  @Test
  void exportThenImportOfADirectory_restoresEveryManifestBlobAndTheTag() throws Exception {
    Path out = tmp.resolve("layout");
    export(out, Set.of(), "test/app:v1");

    ImportReport r = importInto(out);

    assertThat(r.ok()).as(String.join("\n", r.lines())).isTrue();
    assertHoldsWholeImage(target, app);
    assertThat(targetTag("test/app", "v1").digest()).isEqualTo(app.index());
    RepositoryLinks links = new RepositoryLinks(target.root(), UP);
    app.manifests()
        .forEach(
            d ->
                assertThat(links.has(new RepositoryName("test/app"), d))
                    .as("linked %s", d)
                    .isTrue());
    app.blobs()
        .forEach(
            d ->
                assertThat(links.has(new RepositoryName("test/app"), d))
                    .as("linked %s", d)
                    .isTrue());
    assertThat(Images.files(target.root().resolve("tmp"))).isEmpty();
  }

  @Test
  void exportThenImportOfATar_restoresEveryManifestBlobAndTheTag() throws Exception {
    Path out = tmp.resolve("app.tar");
    ExportReport e = export(out, Set.of(), "test/app:v1");
    assertThat(e.ok()).isTrue();
    assertThat(tmp.resolve("app.tar.part")).doesNotExist();

    ImportReport r = importInto(out);

    assertThat(r.ok()).as(String.join("\n", r.lines())).isTrue();
    assertHoldsWholeImage(target, app);
    assertThat(targetTag("test/app", "v1").digest()).isEqualTo(app.index());
  }

  @Test
  void exportOfOnePlatform_writesTheIndexButOnlyThatPlatformsContent_andImportAcceptsIt()
      throws Exception {
    Path out = tmp.resolve("layout");
    ExportReport e = export(out, Set.of(Platform.parse("linux/arm64")), "test/app:v1");
    assertThat(e.ok()).isTrue();
    assertThat(out.resolve("blobs/sha256/" + app.platform(Images.ARM64).manifest().hex())).exists();
    assertThat(out.resolve("blobs/sha256/" + app.platform(Images.AMD64).manifest().hex()))
        .doesNotExist();
    assertThat(out.resolve("blobs/sha256/" + app.firstLayer(Images.AMD64).hex())).doesNotExist();

    ImportReport r = importInto(out);

    assertThat(r.ok()).as(String.join("\n", r.lines())).isTrue();
    assertThat(r.items().get(0).notes())
        .anyMatch(n -> n.contains("linux/amd64") && n.contains("not in the archive"));
    assertThat(target.blobSize(app.firstLayer(Images.ARM64))).isPositive();
    assertThat(target.blobSize(app.firstLayer(Images.AMD64))).isEqualTo(-1);
  }

  @Test
  void exportOfATagThatIsNotCached_failsThatReferenceAndWritesTheOthers() throws Exception {
    Path out = tmp.resolve("layout");
    ExportReport r = export(out, Set.of(), "test/app:v1", "test/app:nope");

    assertThat(r.ok()).isFalse();
    assertThat(r.items().get(0).ok()).isTrue();
    assertThat(r.items().get(1).problems())
        .anyMatch(p -> p.contains("no record of tag up.test/test/app:nope"));
    assertThat(JSON.readTree(out.resolve("index.json").toFile()).path("manifests")).hasSize(1);
  }

  @Test
  void exportUnderAnUpstreamOfContentOnlyAnotherUpstreamServed_isRefused() throws Exception {
    Images.Image other =
        Images.cache(source, "other.test", Images.multiArch("test/borrowed", "v1", 7));
    // The upstream names the same index by tag (and its repository lists it), but never served it.
    RepositoryName repo = new RepositoryName("test/borrowed");
    new TagIndex(source.root(), UP)
        .put(
            repo,
            new Tag("v1"),
            new TagIndex.Entry(
                other.index(), MediaTypes.OCI_INDEX, System.currentTimeMillis(), true));
    other.manifests().forEach(d -> new RepositoryLinks(source.root(), UP).add(repo, d));

    ExportReport r = export(tmp.resolve("borrowed"), Set.of(), "test/borrowed:v1");

    assertThat(r.ok()).isFalse();
    assertThat(r.items().get(0).problems()).anyMatch(p -> p.contains("is not in the cache"));
  }

  @Test
  void flippedByteInOneLayer_refusesTheImage_namesTheLayer_andLeavesTheCacheClean()
      throws Exception {
    Path out = tmp.resolve("layout");
    export(out, Set.of(), "test/app:v1");
    Digest layer = app.firstLayer(Images.ARM64);
    flipByte(out.resolve("blobs/sha256/" + layer.hex()), 100);

    ImportReport r = importInto(out);

    assertThat(r.ok()).isFalse();
    assertThat(r.items().get(0).imported()).isFalse();
    assertThat(r.items().get(0).problems())
        .singleElement()
        .satisfies(
            p -> {
              assertThat(p)
                  .contains("layer 0 " + layer)
                  .contains("content hashes to")
                  .contains("tampered");
            });
    assertTargetCacheIsClean();
  }

  @Test
  void flippedByteInOneLayerOfATar_isRefused_andLeavesTheCacheClean() throws Exception {
    Path out = tmp.resolve("app.tar");
    export(out, Set.of(), "test/app:v1");
    byte[] tar = Files.readAllBytes(out);
    byte[] layerBytes = app.platform(Images.AMD64).blobs().get(app.firstLayer(Images.AMD64));
    int at = indexOf(tar, java.util.Arrays.copyOfRange(layerBytes, 0, 64));
    tar[at + 10] ^= 0x01;
    Files.write(out, tar);

    ImportReport r = importInto(out);

    assertThat(r.items().get(0).imported()).isFalse();
    assertThat(r.items().get(0).problems())
        .anyMatch(p -> p.contains(app.firstLayer(Images.AMD64).toString()));
    assertTargetCacheIsClean();
  }

  @Test
  void manifestWhoseSizeDisagreesWithItsDescriptor_isRefused_andLeavesTheCacheClean()
      throws Exception {
    Path out = tmp.resolve("layout");
    export(out, Set.of(), "test/app:v1");
    ObjectNode index = (ObjectNode) JSON.readTree(out.resolve("index.json").toFile());
    ((ObjectNode) index.path("manifests").get(0)).put("size", app.indexBytes().length + 1);
    JSON.writeValue(out.resolve("index.json").toFile(), index);

    ImportReport r = importInto(out);

    assertThat(r.items().get(0).imported()).isFalse();
    assertThat(r.items().get(0).problems())
        .singleElement()
        .satisfies(
            p ->
                assertThat(p)
                    .contains("manifest " + app.index())
                    .contains(
                        "the descriptor says "
                            + (app.indexBytes().length + 1)
                            + " bytes, the archive has "
                            + app.indexBytes().length));
    assertTargetCacheIsClean();
  }

  @Test
  void tamperedEntriesAreReportedOneByOne_andIntactImagesStillLand() throws Exception {
    Images.Image second = Images.cache(source, UP, Images.multiArch("test/second", "v2", 2));
    Images.Image third = Images.cache(source, UP, Images.multiArch("test/third", "v3", 3));
    Path out = tmp.resolve("layout");
    export(out, Set.of(), "test/app:v1", "test/second:v2", "test/third:v3");
    flipByte(out.resolve("blobs/sha256/" + app.firstLayer(Images.AMD64).hex()), 5);
    flipByte(out.resolve("blobs/sha256/" + app.firstLayer(Images.ARM64).hex()), 5);
    Files.delete(out.resolve("blobs/sha256/" + second.firstLayer(Images.ARM64).hex()));

    ImportReport r = importInto(out);

    assertThat(r.ok()).isFalse();
    assertThat(r.refused()).isEqualTo(2);
    assertThat(r.items().get(0).problems()).hasSize(2);
    assertThat(r.items().get(1).problems())
        .singleElement()
        .satisfies(p -> assertThat(p).contains("missing from the archive"));
    assertThat(r.items().get(2).imported()).isTrue();
    assertHoldsWholeImage(target, third);
    assertThat(target.readManifest(app.index())).isNull();
    assertThat(target.blobSize(app.firstLayer(Images.ARM64))).isEqualTo(-1);
    assertThat(target.blobSize(second.platform(Images.AMD64).blobs().keySet().iterator().next()))
        .isEqualTo(-1);
    assertThat(targetTag("test/app", "v1")).isNull();
    assertThat(targetTag("test/third", "v3").digest()).isEqualTo(third.index());
    assertThat(Images.files(target.root().resolve("tmp"))).isEmpty();
  }

  @Test
  void bareTagRefName_isTaggedUnderTheGivenRepository_orImportedByDigestOnly() throws Exception {
    Path out = tmp.resolve("layout");
    export(out, Set.of(), "test/app:v1");
    ObjectNode index = (ObjectNode) JSON.readTree(out.resolve("index.json").toFile());
    ((ObjectNode) index.path("manifests").get(0).path("annotations"))
        .put("org.opencontainers.image.ref.name", "v9");
    JSON.writeValue(out.resolve("index.json").toFile(), index);

    ImportReport byDigest = importInto(out);
    assertThat(byDigest.ok()).isTrue();
    assertThat(byDigest.items().get(0).notes()).anyMatch(n -> n.contains("give --repository"));
    assertThat(targetTag("test/app", "v9")).isNull();

    ImportReport tagged =
        new Importer(
                target,
                List.of(UP),
                UP,
                null,
                new RepositoryName("site/app"),
                MirrorOptions.DEFAULT_MANIFEST_MAX_BYTES)
            .importFrom(out);
    assertThat(tagged.items().get(0).tagged()).hasToString("up.test/site/app:v9");
    assertThat(
            new TagIndex(target.root(), UP)
                .get(new RepositoryName("site/app"), new Tag("v9"))
                .digest())
        .isEqualTo(app.index());
  }

  @Test
  void refNameOfAnUnconfiguredUpstream_isRefused_unlessAnUpstreamIsGiven() throws Exception {
    Path out = tmp.resolve("layout");
    export(out, Set.of(), "test/app:v1");
    String text =
        Files.readString(out.resolve("index.json"))
            .replace("up.test/test/app:v1", "far.away.io/test/app:v1");
    Files.writeString(out.resolve("index.json"), text);

    ImportReport refused = importInto(out);
    assertThat(refused.items().get(0).problems())
        .anyMatch(p -> p.contains("unknown upstream 'far.away.io'"));
    assertTargetCacheIsClean();

    ImportReport mapped =
        new Importer(target, List.of(UP), UP, UP, null, MirrorOptions.DEFAULT_MANIFEST_MAX_BYTES)
            .importFrom(out);
    assertThat(mapped.ok()).isTrue();
    assertThat(targetTag("test/app", "v1").digest()).isEqualTo(app.index());
  }

  @Test
  void directoryWithoutOciLayoutFile_isRefusedAsAWhole() throws Exception {
    Path out = tmp.resolve("layout");
    export(out, Set.of(), "test/app:v1");
    Files.delete(out.resolve("oci-layout"));

    ImportReport r = importInto(out);

    assertThat(r.ok()).isFalse();
    assertThat(r.problems())
        .singleElement()
        .satisfies(p -> assertThat(p).contains("not an OCI image layout"));
    assertTargetCacheIsClean();
  }

  @Test
  void tarReader_readsLongPaxNamesSkipsDirectoriesAndDotSlashPrefixes() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    String longName = "blobs/sha512/" + "c".repeat(128);
    try (TarWriter w = new TarWriter(bytes)) {
      w.directory("blobs");
      w.file(longName, "long".getBytes());
      w.file("./index.json", "{}".getBytes());
      w.finish();
    }
    TarReader r = new TarReader(new ByteArrayInputStream(bytes.toByteArray()));
    assertThat(r.next()).isEqualTo(new TarReader.Entry(longName, 4));
    assertThat(new String(r.content().readAllBytes())).isEqualTo("long");
    assertThat(r.next()).isEqualTo(new TarReader.Entry("index.json", 2));
    assertThat(r.next()).isNull();
    assertThat(TarReader.normalise("./blobs/sha256/ab")).isEqualTo("blobs/sha256/ab");
  }

  @Test
  void tarWithACorruptHeader_isRefusedAsAWhole() throws Exception {
    Path out = tmp.resolve("app.tar");
    export(out, Set.of(), "test/app:v1");
    byte[] tar = Files.readAllBytes(out);
    tar[1024 + 2] ^= 0x7f; // in the name of the second header (the first entry is oci-layout)
    Files.write(out, tar);

    ImportReport r = importInto(out);

    assertThat(r.problems()).anyMatch(p -> p.contains("bad checksum"));
    assertTargetCacheIsClean();
  }

  private static void flipByte(Path f, int at) throws IOException {
    byte[] b = Files.readAllBytes(f);
    b[at] ^= 0x01;
    try (OutputStream o = Files.newOutputStream(f)) {
      o.write(b);
    }
  }

  private static int indexOf(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= hay.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    throw new AssertionError("not found");
  }
}
