package dev.ociproxy.core.airgap;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.cache.RepositoryLinks;
import dev.ociproxy.core.cache.TagIndex;
import dev.ociproxy.core.oci.Algorithm;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.MediaTypes;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.registry.MirrorOptions;
import dev.ociproxy.core.registry.Referrers;
import dev.ociproxy.core.registry.ReferrersStore;
import dev.ociproxy.testing.CosignSignatures;
import dev.ociproxy.testing.OciJson;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What is attached to an image (its verified referrers lists, its cosign signature) crosses the gap
 * with it: export writes what the cache holds, import verifies it and rebuilds the list.
 */
class AttachedLayoutTest {
  private static final String UP = "up.test";
  private static final RepositoryName REPO = new RepositoryName("test/app");
  private static final String SBOM = "application/spdx+json";
  private static final String EMPTY = "application/vnd.oci.empty.v1+json";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final byte[] EMPTY_JSON = "{}".getBytes(StandardCharsets.UTF_8);

  @TempDir Path tmp;
  ContentStore source;
  ContentStore target;
  Images.Image app;

  @BeforeEach
  void caches() throws IOException {
    source = new ContentStore(tmp.resolve("source")).open();
    target = new ContentStore(tmp.resolve("target")).open();
    app = Images.cache(source, UP, Images.multiArch("test/app", "v1", 1));
    Path t = source.newTempFile();
    Files.write(t, EMPTY_JSON);
    source.publish(t, source.blobPath(Digest.sha256(EMPTY_JSON)));
    served(Digest.sha256(EMPTY_JSON));
  }

  private void served(Digest d) {
    RepositoryLinks links = new RepositoryLinks(source.root(), UP);
    links.add(REPO, d);
    links.addServed(d);
  }

  /** A referrer manifest cached as a pull would have cached it; its list entry. */
  private Referrers.Referrer cachedReferrer(String subject, String label) {
    byte[] m = OciJson.artifact(SBOM, EMPTY, subject, label);
    source.putManifest(Digest.sha256(m), m);
    served(Digest.sha256(m));
    return new Referrers.Referrer(
        MediaTypes.OCI_MANIFEST,
        Digest.sha256(m),
        m.length,
        SBOM,
        Map.of("org.example.label", label));
  }

  private ExportReport export(Path out) throws IOException {
    return new Exporter(source, Pins.empty())
        .export(List.of(ImageRef.parse("test/app:v1", List.of(UP), UP)), Set.of(), out);
  }

  private ImportReport importInto(Path in) {
    return new Importer(
            target, List.of(UP), UP, null, null, MirrorOptions.DEFAULT_MANIFEST_MAX_BYTES)
        .importFrom(in);
  }

  @Test
  void verifiedReferrersListIsExported_andImportRebuildsTheSameListForTheRepository()
      throws Exception {
    Referrers.Referrer sbom = cachedReferrer(app.index().toString(), "sbom");
    new ReferrersStore(source, UP)
        .put(REPO, new ReferrersStore.Entry(new Referrers(app.index(), List.of(sbom), false), 1));
    Path out = tmp.resolve("layout.tar");

    ExportReport exported = export(out);
    ImportReport imported = importInto(out);

    assertThat(exported.ok()).as(String.join("\n", exported.lines())).isTrue();
    assertThat(exported.lines())
        .anyMatch(l -> l.startsWith("ok    up.test/test/app:sha256-" + app.index().hex()));
    assertThat(imported.ok()).as(String.join("\n", imported.lines())).isTrue();
    ReferrersStore.Entry rebuilt = new ReferrersStore(target, UP).get(REPO, app.index());
    assertThat(rebuilt).isNotNull();
    assertThat(rebuilt.referrers().manifests()).containsExactly(sbom);
    assertThat(target.readManifest(sbom.digest())).isNotNull();
    assertThat(target.blobSize(Digest.sha256(EMPTY_JSON))).isEqualTo(EMPTY_JSON.length);
  }

  @Test
  void referrerWhoseBlobsAreNotCached_isLeftOutWithANote_andTheImageStillExports()
      throws Exception {
    byte[] referrer = OciJson.artifact(SBOM, OciJson.IMAGE_CONFIG, app.index().toString(), "x");
    source.putManifest(Digest.sha256(referrer), referrer);
    served(Digest.sha256(referrer));
    Referrers.Referrer partial =
        new Referrers.Referrer(
            MediaTypes.OCI_MANIFEST, Digest.sha256(referrer), referrer.length, SBOM, Map.of());
    new ReferrersStore(source, UP)
        .put(
            REPO, new ReferrersStore.Entry(new Referrers(app.index(), List.of(partial), false), 1));
    // Its config and layer are the empty JSON: without that blob it is only partly cached.
    Files.delete(source.blobPath(Digest.sha256(EMPTY_JSON)));

    ExportReport r = export(tmp.resolve("layout"));

    assertThat(r.ok()).as(String.join("\n", r.lines())).isTrue();
    assertThat(r.items()).hasSize(1);
    assertThat(r.items().get(0).notes())
        .anyMatch(n -> n.contains("left out referrer " + Digest.sha256(referrer)));
  }

  @Test
  void referrersOfASha512Subject_whoseTagKeepsOnly64HexCharacters_areImportedUnderTheFullDigest()
      throws Exception {
    Path out = tmp.resolve("layout");
    export(out);
    // A layout made elsewhere: the referrers tag schema cuts a sha512 subject's tag to 64 hex.
    Digest subject = Digest.of(Algorithm.SHA512, "a sha512 manifest".getBytes(UTF_8));
    byte[] sbom = OciJson.artifact(SBOM, EMPTY, subject.toString(), "sbom");
    Referrers.Referrer entry =
        new Referrers.Referrer(
            MediaTypes.OCI_MANIFEST,
            Digest.sha256(sbom),
            sbom.length,
            SBOM,
            Map.of("org.example.label", "sbom"));
    byte[] list = new Referrers(subject, List.of(entry), false).indexJson();
    Files.write(out.resolve("blobs/sha256/" + Digest.sha256(sbom).hex()), sbom);
    Files.write(out.resolve("blobs/sha256/" + Digest.sha256(list).hex()), list);
    Files.write(out.resolve("blobs/sha256/" + Digest.sha256(EMPTY_JSON).hex()), EMPTY_JSON);
    ObjectNode index = (ObjectNode) JSON.readTree(out.resolve("index.json").toFile());
    ObjectNode listed = ((ArrayNode) index.path("manifests")).addObject();
    listed.put("mediaType", MediaTypes.OCI_INDEX);
    listed.put("digest", Digest.sha256(list).toString());
    listed.put("size", list.length);
    listed
        .putObject("annotations")
        .put(OciLayout.REF_NAME, UP + "/test/app:sha512-" + subject.hex().substring(0, 64));
    JSON.writeValue(out.resolve("index.json").toFile(), index);

    ImportReport imported = importInto(out);

    assertThat(imported.ok()).as(String.join("\n", imported.lines())).isTrue();
    ReferrersStore.Entry rebuilt = new ReferrersStore(target, UP).get(REPO, subject);
    assertThat(rebuilt).isNotNull();
    assertThat(rebuilt.referrers().manifests()).containsExactly(entry);
  }

  @Test
  void listedReferrerWhoseSubjectIsAnotherDigest_refusesTheListOnImport() throws Exception {
    Referrers.Referrer honest = cachedReferrer(app.index().toString(), "sbom");
    Referrers.Referrer elsewhere = cachedReferrer(Digest.sha256(EMPTY_JSON).toString(), "lie");
    // The store takes only verified lists; one that is not stands for a layout made elsewhere.
    new ReferrersStore(source, UP)
        .put(
            REPO,
            new ReferrersStore.Entry(
                new Referrers(app.index(), List.of(honest, elsewhere), false), 1));
    Path out = tmp.resolve("layout");
    export(out);

    ImportReport r = importInto(out);

    assertThat(r.ok()).isFalse();
    ImportReport.Item list =
        r.items().stream()
            .filter(i -> String.valueOf(i.name()).endsWith(":sha256-" + app.index().hex()))
            .findFirst()
            .orElseThrow();
    assertThat(list.imported()).isFalse();
    assertThat(list.problems())
        .anyMatch(
            p ->
                p.contains("referrer " + elsewhere.digest())
                    && p.contains("its subject is " + Digest.sha256(EMPTY_JSON)));
    assertThat(new ReferrersStore(target, UP).get(REPO, app.index())).isNull();
    assertThat(r.items().get(0).imported()).as("the image itself still lands").isTrue();
  }

  @Test
  void cachedClassicSignatureIsExportedUnderItsSigTag_andImportedAsThatTag() throws Exception {
    byte[] payload = CosignSignatures.payload(UP + "/test/app:v1", app.index().toString());
    byte[] config = CosignSignatures.signatureConfig();
    byte[] signature =
        CosignSignatures.signatureManifest(
            CosignSignatures.Layer.signed(CosignSignatures.ecKey().getPrivate(), payload));
    for (byte[] blob : List.of(payload, config)) {
      Path t = source.newTempFile();
      Files.write(t, blob);
      source.publish(t, source.blobPath(Digest.sha256(blob)));
      served(Digest.sha256(blob));
    }
    source.putManifest(Digest.sha256(signature), signature);
    served(Digest.sha256(signature));
    Tag sig = new Tag(CosignSignatures.signatureTag(app.index().toString()));
    new TagIndex(source.root(), UP)
        .put(
            REPO,
            sig,
            new TagIndex.Entry(
                Digest.sha256(signature),
                MediaTypes.OCI_MANIFEST,
                System.currentTimeMillis(),
                true));
    Path out = tmp.resolve("signed.tar");

    ExportReport exported = export(out);
    ImportReport imported = importInto(out);

    assertThat(exported.lines())
        .anyMatch(l -> l.startsWith("ok    up.test/test/app:" + sig.value()));
    assertThat(imported.ok()).as(String.join("\n", imported.lines())).isTrue();
    TagIndex.Entry tagged = new TagIndex(target.root(), UP).get(REPO, sig);
    assertThat(tagged).isNotNull();
    assertThat(tagged.digest()).isEqualTo(Digest.sha256(signature));
    assertThat(target.blobSize(Digest.sha256(payload))).isEqualTo(payload.length);
  }

  @Test
  void signatureWhosePayloadIsNotCached_isLeftOutWithANote() throws Exception {
    byte[] payload = CosignSignatures.payload(UP + "/test/app:v1", app.index().toString());
    byte[] signature =
        CosignSignatures.signatureManifest(
            CosignSignatures.Layer.signed(CosignSignatures.ecKey().getPrivate(), payload));
    source.putManifest(Digest.sha256(signature), signature);
    served(Digest.sha256(signature));
    Tag sig = new Tag(CosignSignatures.signatureTag(app.index().toString()));
    new TagIndex(source.root(), UP)
        .put(
            REPO,
            sig,
            new TagIndex.Entry(
                Digest.sha256(signature),
                MediaTypes.OCI_MANIFEST,
                System.currentTimeMillis(),
                true));

    ExportReport r = export(tmp.resolve("layout"));

    assertThat(r.ok()).as(String.join("\n", r.lines())).isTrue();
    assertThat(r.items()).hasSize(1);
    assertThat(r.items().get(0).notes())
        .anyMatch(n -> n.startsWith("left out signature " + sig.value() + ": blob "));
  }
}
