package dev.ociproxy.core.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.MediaTypes;
import dev.ociproxy.core.oci.RepositoryName;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The persisted referrers record: what goes in comes back whole, or not at all. */
class ReferrersStoreTest {
  private static final RepositoryName REPO = new RepositoryName("lib/app");
  private static final Digest SUBJECT = Digest.sha256("image".getBytes(StandardCharsets.UTF_8));
  private static final Digest SBOM = Digest.sha256("sbom".getBytes(StandardCharsets.UTF_8));
  private static final Digest SIG = Digest.sha256("signature".getBytes(StandardCharsets.UTF_8));

  @TempDir Path root;
  private final List<ContentStore> stores = new ArrayList<>();

  @AfterEach
  void close() {
    stores.forEach(ContentStore::close);
  }

  /** A store over the same directory, as after a restart. */
  private ReferrersStore restarted() {
    ContentStore s = new ContentStore(root).open();
    stores.add(s);
    return new ReferrersStore(s, "registry.example:5000");
  }

  private static ReferrersStore.Entry twoReferrers(long at) {
    return new ReferrersStore.Entry(
        new Referrers(
            SUBJECT,
            List.of(
                new Referrers.Referrer(
                    MediaTypes.OCI_MANIFEST,
                    SBOM,
                    412,
                    "application/spdx+json",
                    Map.of("org.opencontainers.image.created", "2026-12-07T06:00:00Z")),
                new Referrers.Referrer(MediaTypes.OCI_INDEX, SIG, 99, null, Map.of())),
            false),
        at);
  }

  private Path record() {
    return root.resolve(
        "referrers/registry.example:5000/lib/app/_referrers/sha256-" + SUBJECT.hex());
  }

  @Test
  void aVerifiedListComesBackWholeAfterARestart_everyFieldAndWhenItWasVerified() {
    ReferrersStore.Entry put = twoReferrers(1_765_000_000_000L);
    restarted().put(REPO, put);

    ReferrersStore.Entry read = restarted().get(REPO, SUBJECT);

    assertThat(read).isEqualTo(put);
    assertThat(read.referrers().indexJson()).isEqualTo(put.referrers().indexJson());
  }

  @Test
  void aDigestWithoutReferrersIsRememberedAsAnEmptyList_notAsUnknown() {
    restarted().put(REPO, new ReferrersStore.Entry(new Referrers(SUBJECT, List.of(), false), 7));

    ReferrersStore.Entry read = restarted().get(REPO, SUBJECT);

    assertThat(read).isNotNull();
    assertThat(read.referrers().manifests()).isEmpty();
    assertThat(restarted().get(REPO, SBOM)).as("never verified: unknown").isNull();
    assertThat(restarted().get(new RepositoryName("lib/other"), SUBJECT)).isNull();
  }

  @Test
  void aListServedStaleIsStoredAsAVerifiedListAndNotMarkedStaleWhenRead() {
    restarted().put(REPO, new ReferrersStore.Entry(twoReferrers(5).referrers().asStale(), 5));

    assertThat(restarted().get(REPO, SUBJECT).referrers().stale()).isFalse();
  }

  @Test
  void theRecordLivesUnderItsUpstreamRepositoryAndSubject_writtenWholeUnderTmpAndRenamed()
      throws Exception {
    restarted().put(REPO, twoReferrers(5));

    assertThat(record()).isRegularFile();
    try (Stream<Path> files = Files.list(record().getParent())) {
      assertThat(files).containsExactly(record());
    }
    try (Stream<Path> left = Files.list(root.resolve("tmp"))) {
      assertThat(left).as("no temporary file left behind").isEmpty();
    }
  }

  @Test
  void aTruncatedRecordIsRefusedAndRemoved() throws Exception {
    restarted().put(REPO, twoReferrers(5));
    byte[] whole = Files.readAllBytes(record());
    Files.write(record(), Arrays.copyOf(whole, whole.length - 3));

    assertThat(restarted().get(REPO, SUBJECT)).isNull();
    assertThat(record()).doesNotExist();
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "not json",
        "{\"subject\":\"SUBJECT\",\"verifiedAt\":5,\"manifests\":[]} trailing",
        "{\"subject\":\"SUBJECT\",\"manifests\":[]}",
        "{\"subject\":\"SUBJECT\",\"verifiedAt\":5}",
        "{\"subject\":\"sha256:0000000000000000000000000000000000000000000000000000000000000000\",\"verifiedAt\":5,\"manifests\":[]}",
        "{\"subject\":\"SUBJECT\",\"verifiedAt\":5,\"manifests\":[{\"mediaType\":\"x\","
            + "\"digest\":\"sha256:1234\",\"size\":1}]}",
        "{\"subject\":\"SUBJECT\",\"verifiedAt\":5,\"manifests\":[{\"mediaType\":\"x\","
            + "\"digest\":\"SUBJECT\",\"size\":-1}]}",
        "{\"subject\":\"SUBJECT\",\"verifiedAt\":5,\"manifests\":[{\"mediaType\":\"x\","
            + "\"digest\":\"SUBJECT\",\"size\":1,\"annotations\":{\"a\":1}}]}",
      })
  void aCorruptRecordOrOneAboutAnotherSubjectIsRefused(String text) throws Exception {
    Files.createDirectories(record().getParent());
    Files.writeString(record(), text.replace("SUBJECT", SUBJECT.toString()));

    assertThat(restarted().get(REPO, SUBJECT)).isNull();
    assertThat(record()).doesNotExist();
  }

  @Test
  void aRecordOverTheBoundIsNotRead() throws Exception {
    restarted().put(REPO, twoReferrers(5));
    Files.write(
        record(),
        new byte[(int) ReferrersStore.MAX_RECORD_BYTES + 1],
        java.nio.file.StandardOpenOption.APPEND);

    assertThat(restarted().get(REPO, SUBJECT)).isNull();
  }

  @ParameterizedTest
  @ValueSource(strings = {"..", "../etc", "a/b", "", "Registry.example", "host:port", "-x.example"})
  void anUpstreamNameThatIsNotARegistryHostIsRefusedBeforeAnyPathIsBuilt(String upstream) {
    ContentStore s = new ContentStore(root).open();
    stores.add(s);

    assertThatThrownBy(() -> new ReferrersStore(s, upstream))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not a registry host name");
  }
}
