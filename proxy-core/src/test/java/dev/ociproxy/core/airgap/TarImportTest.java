package dev.ociproxy.core.airgap;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.registry.MirrorOptions;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tar archives that try to reach outside themselves: each is refused as a whole on import, and the
 * cache is left as it was. The archive is a real export with one entry swapped in.
 */
class TarImportTest {
  private static final String UP = "up.test";

  @TempDir Path tmp;
  ContentStore target;
  Path exported;
  String layer;

  @BeforeEach
  void export() throws IOException {
    ContentStore source = new ContentStore(tmp.resolve("source")).open();
    target = new ContentStore(tmp.resolve("target")).open();
    Images.Image app = Images.cache(source, UP, Images.multiArch("test/app", "v1", 1));
    exported = tmp.resolve("app.tar");
    ExportReport r =
        new Exporter(source, Pins.empty())
            .export(List.of(ImageRef.parse("test/app:v1", List.of(UP), UP)), Set.of(), exported);
    assertThat(r.ok()).as(String.join("\n", r.lines())).isTrue();
    Digest d = app.blobs().iterator().next();
    layer = OciLayout.blobPath(d);
  }

  @Test
  void entryWithAnAbsoluteName_isRefused() throws Exception {
    assertRefused(file(new TarArchiveEntry("/" + layer, true)), "/" + layer);
  }

  @Test
  void entryWhoseDotDotClimbsOutOfTheArchive_isRefused() throws Exception {
    assertRefused(file(new TarArchiveEntry("blobs/../../outside")), "blobs/../../outside");
  }

  @Test
  void symlinkPointingOutOfTheArchive_isRefused() throws Exception {
    TarArchiveEntry link = new TarArchiveEntry(layer, TarConstants.LF_SYMLINK);
    link.setLinkName("../../../../etc/passwd");
    assertRefused(link, "outside the archive");
  }

  @Test
  void hardlinkToAnAbsolutePath_isRefused() throws Exception {
    TarArchiveEntry link = new TarArchiveEntry(layer, TarConstants.LF_LINK);
    link.setLinkName("/etc/passwd");
    assertRefused(link, "outside the archive");
  }

  @Test
  void deviceFile_isRefused() throws Exception {
    TarArchiveEntry device = new TarArchiveEntry("blobs/console", TarConstants.LF_CHR);
    device.setDevMajor(5);
    device.setDevMinor(1);
    assertRefused(device, "not a regular file");
  }

  @Test
  void symlinkThatStaysInside_isSkipped_andTheImageStillLands() throws Exception {
    TarArchiveEntry link = new TarArchiveEntry("blobs/alias", TarConstants.LF_SYMLINK);
    link.setLinkName("sha256/" + layer.substring(layer.lastIndexOf('/') + 1));
    Path tar = withExtraEntry(link);

    ImportReport r = importInto(tar);

    assertThat(r.ok()).as(String.join("\n", r.lines())).isTrue();
  }

  private static TarArchiveEntry file(TarArchiveEntry e) {
    e.setSize(4);
    return e;
  }

  private void assertRefused(TarArchiveEntry extra, String named) throws IOException {
    ImportReport r = importInto(withExtraEntry(extra));

    assertThat(r.ok()).isFalse();
    assertThat(r.problems())
        .singleElement()
        .satisfies(p -> assertThat(p).contains("refused").contains(named));
    for (String dir : List.of("blobs", "manifests", "tags", "tmp")) {
      assertThat(Images.files(target.root().resolve(dir)))
          .as("nothing reached the cache's %s", dir)
          .isEmpty();
    }
    assertThat(tmp.resolve("outside")).doesNotExist();
  }

  private ImportReport importInto(Path tar) {
    return new Importer(
            target, List.of(UP), UP, null, null, MirrorOptions.DEFAULT_MANIFEST_MAX_BYTES)
        .importFrom(tar);
  }

  /**
   * The export with {@code extra} in place of the layer's own entry, when it has the layer's name.
   */
  private Path withExtraEntry(TarArchiveEntry extra) throws IOException {
    Path out = tmp.resolve("tampered.tar");
    try (InputStream in = Files.newInputStream(exported);
        TarArchiveInputStream tar = new TarArchiveInputStream(in);
        OutputStream o = Files.newOutputStream(out);
        TarArchiveOutputStream w = new TarArchiveOutputStream(o)) {
      w.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      w.putArchiveEntry(extra);
      if (extra.getSize() > 0) {
        w.write("evil".getBytes(StandardCharsets.US_ASCII));
      }
      w.closeArchiveEntry();
      for (TarArchiveEntry e; (e = tar.getNextEntry()) != null; ) {
        if (!e.getName().equals(extra.getName())) {
          w.putArchiveEntry(e);
          tar.transferTo(w);
          w.closeArchiveEntry();
        }
      }
    }
    return out;
  }
}
