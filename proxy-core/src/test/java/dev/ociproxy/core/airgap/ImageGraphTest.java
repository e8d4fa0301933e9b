package dev.ociproxy.core.airgap;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.core.oci.Descriptor;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.testing.OciJson;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** The one walk of an image graph that warm, export, import and the pin closure share. */
class ImageGraphTest {
  private static final String FOREIGN = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

  /** Manifests by digest; records what the walk told it, in order. */
  private static final class Recorder implements ImageGraph.Visitor {
    final Map<Digest, byte[]> held = new HashMap<>();
    final Map<Digest, RuntimeException> broken = new HashMap<>();
    final List<String> events = new ArrayList<>();
    final List<String> problems = new ArrayList<>();

    Digest hold(byte[] manifest) {
      Digest d = Digest.sha256(manifest);
      held.put(d, manifest);
      return d;
    }

    @Override
    public CompletableFuture<ImageGraph.Node> read(Descriptor entry, int depth) {
      events.add("read " + short_(entry.digest()) + " at " + depth);
      RuntimeException e = broken.get(entry.digest());
      if (e != null) {
        return CompletableFuture.failedFuture(e);
      }
      byte[] body = held.get(entry.digest());
      return CompletableFuture.completedFuture(
          body == null ? null : ImageGraph.Node.parse(entry, body, entry.mediaType()));
    }

    @Override
    public String holder() {
      return "the test";
    }

    @Override
    public void problem(String message) {
      problems.add(message);
    }

    @Override
    public void blob(Descriptor blob, ImageGraph.Node of) {
      events.add("blob " + short_(blob.digest()) + " of " + short_(of.descriptor().digest()));
    }

    @Override
    public void foreign(Descriptor layer, ImageGraph.Node of) {
      events.add("foreign " + short_(layer.digest()));
    }

    @Override
    public void leftOut(Descriptor entry) {
      events.add("left out " + entry.platform());
    }

    @Override
    public void walked(ImageGraph.Node node) {
      events.add("walked " + short_(node.descriptor().digest()));
    }

    List<String> walk(byte[] top, Set<Platform> platforms) {
      Digest d = hold(top);
      ImageGraph.walk(
              ImageGraph.Node.parse(
                  new Descriptor(OciJson.mediaTypeOf(top), d, top.length, null), top, null),
              platforms,
              this)
          .join();
      return events;
    }
  }

  private static String short_(Digest d) {
    return d.hex().substring(0, 6);
  }

  private static final byte[] CONFIG = OciJson.config("graph test");
  private static final byte[] LAYER = Images.random(100, 1);

  private static byte[] image(byte[] layer) {
    return OciJson.manifest(OciJson.descriptor(OciJson.IMAGE_CONFIG, CONFIG), OciJson.layer(layer));
  }

  private static OciJson.Descriptor entry(byte[] manifest, String arch) {
    return OciJson.descriptor(OciJson.IMAGE_MANIFEST, manifest).withPlatform("linux", arch);
  }

  @Test
  void indexIsWalkedDownToEveryBlob_childrenWalkedBeforeTheIndexThatListsThem() {
    Recorder r = new Recorder();
    byte[] amd = image(LAYER);
    byte[] arm = image(Images.random(100, 2));
    r.hold(amd);
    r.hold(arm);
    byte[] index = OciJson.index(entry(amd, "amd64"), entry(arm, "arm64"));

    List<String> events = r.walk(index, Set.of());

    String c = short_(Digest.sha256(CONFIG));
    String a = short_(Digest.sha256(amd));
    String b = short_(Digest.sha256(arm));
    assertThat(events)
        .containsExactly(
            "read " + a + " at 1",
            "blob " + c + " of " + a,
            "blob " + short_(Digest.sha256(LAYER)) + " of " + a,
            "walked " + a,
            "read " + b + " at 1",
            "blob " + c + " of " + b,
            "blob " + short_(Digest.sha256(Images.random(100, 2))) + " of " + b,
            "walked " + b,
            "walked " + short_(Digest.sha256(index)));
    assertThat(r.problems).isEmpty();
  }

  @Test
  void platformListPicksAmongTheTopIndexsEntries_andTheRestAreLeftOutUnread() {
    Recorder r = new Recorder();
    byte[] amd = image(LAYER);
    byte[] arm = image(Images.random(100, 2));
    r.hold(amd);
    r.hold(arm);

    List<String> events =
        r.walk(
            OciJson.index(entry(amd, "amd64"), entry(arm, "arm64")),
            Set.of(Platform.parse("linux/arm64")));

    assertThat(events).contains("left out linux/amd64", "walked " + short_(Digest.sha256(arm)));
    assertThat(events).noneMatch(e -> e.startsWith("read " + short_(Digest.sha256(amd))));
    assertThat(r.problems).isEmpty();
  }

  @Test
  void platformListThatMatchesNoEntry_isAProblemNamingWhatTheIndexHas() {
    Recorder r = new Recorder();
    byte[] amd = image(LAYER);
    r.hold(amd);

    r.walk(OciJson.index(entry(amd, "amd64")), Set.of(Platform.parse("linux/s390x")));

    assertThat(r.problems).singleElement().asString().contains("has no manifest for", "amd64");
  }

  @Test
  void indexesNestedDeeperThanTheLimit_areAProblem_andNothingBelowIsRead() {
    Recorder r = new Recorder();
    byte[] leaf = image(LAYER);
    r.hold(leaf);
    byte[] below = OciJson.index(OciJson.descriptor(OciJson.IMAGE_MANIFEST, leaf));
    for (int i = 0; i < ImageGraph.MAX_INDEX_DEPTH; i++) {
      r.hold(below);
      below = OciJson.index(OciJson.descriptor(OciJson.IMAGE_INDEX, below));
    }

    List<String> events = r.walk(below, Set.of());

    assertThat(r.problems)
        .singleElement()
        .asString()
        .contains("nested deeper than " + ImageGraph.MAX_INDEX_DEPTH);
    assertThat(events).noneMatch(e -> e.startsWith("blob"));
  }

  @Test
  void foreignLayersGoToTheirOwnCallback_notToBlob() {
    Recorder r = new Recorder();
    byte[] foreign = Images.random(50, 3);
    byte[] manifest =
        OciJson.manifest(
            OciJson.descriptor(OciJson.IMAGE_CONFIG, CONFIG),
            OciJson.descriptor(FOREIGN, foreign),
            OciJson.layer(LAYER));

    List<String> events = r.walk(manifest, Set.of());

    assertThat(events)
        .contains("foreign " + short_(Digest.sha256(foreign)))
        .doesNotContain(
            "blob " + short_(Digest.sha256(foreign)) + " of " + short_(Digest.sha256(manifest)))
        .contains(
            "blob " + short_(Digest.sha256(LAYER)) + " of " + short_(Digest.sha256(manifest)));
  }

  @Test
  void childWhoseBytesAreNotTheSizeItsIndexSays_isAProblem() {
    Recorder r = new Recorder();
    byte[] amd = image(LAYER);
    Digest d = r.hold(amd);
    byte[] lying =
        OciJson.index(
            new OciJson.Descriptor(OciJson.IMAGE_MANIFEST, d.toString(), amd.length + 7)
                .withPlatform("linux", "amd64"));

    r.walk(lying, Set.of());

    assertThat(r.problems)
        .singleElement()
        .asString()
        .contains("manifest " + d, "the index says " + (amd.length + 7), "it has " + amd.length);
  }

  @Test
  void indexNoneOfWhoseEntriesTheSourceHolds_isAProblemNamingTheSource_anAbsentOneAloneIsNot() {
    Recorder r = new Recorder();
    byte[] amd = image(LAYER);
    byte[] arm = image(Images.random(100, 2));
    r.hold(arm);

    r.walk(OciJson.index(entry(amd, "amd64"), entry(arm, "arm64")), Set.of());
    assertThat(r.problems).isEmpty(); // only the visitor knows whether one absent entry matters

    Recorder none = new Recorder();
    none.walk(OciJson.index(entry(amd, "amd64")), Set.of());
    assertThat(none.problems)
        .singleElement()
        .asString()
        .contains("none of its manifests", "the test");
  }

  @Test
  void failedReadIsReportedWithTheEntrysPlatform_andTheOtherEntriesAreStillWalked() {
    Recorder r = new Recorder();
    byte[] amd = image(LAYER);
    byte[] arm = image(Images.random(100, 2));
    r.hold(arm);
    r.broken.put(
        Digest.sha256(amd),
        new RegistryException(
            dev.ociproxy.core.oci.OciErrorCode.MANIFEST_UNKNOWN, 404, "gone upstream"));

    List<String> events = r.walk(OciJson.index(entry(amd, "amd64"), entry(arm, "arm64")), Set.of());

    assertThat(r.problems)
        .singleElement()
        .asString()
        .contains(
            "manifest " + Digest.sha256(amd), "linux/amd64", "MANIFEST_UNKNOWN", "gone upstream");
    assertThat(events).contains("walked " + short_(Digest.sha256(arm)));
  }
}
