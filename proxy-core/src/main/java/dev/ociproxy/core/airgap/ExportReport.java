package dev.ociproxy.core.airgap;

import dev.ociproxy.core.oci.Digest;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/** What an export wrote for each reference; a reference with a problem was not written. */
public record ExportReport(java.nio.file.Path output, List<Item> items) {
  public ExportReport {
    items = List.copyOf(items);
  }

  /**
   * One reference's outcome.
   *
   * @param name the {@code org.opencontainers.image.ref.name} it was written under
   * @param notes what was left out on purpose (platforms not asked for or not cached)
   */
  public record Item(
      ImageRef ref,
      String name,
      @Nullable Digest digest,
      int manifests,
      int blobs,
      long bytes,
      List<String> problems,
      List<String> notes) {
    public Item {
      problems = List.copyOf(problems);
      notes = List.copyOf(notes);
    }

    public boolean ok() {
      return problems.isEmpty();
    }
  }

  public boolean ok() {
    return items.stream().allMatch(Item::ok);
  }

  public List<String> lines() {
    List<String> out = new ArrayList<>();
    long failed = items.stream().filter(i -> !i.ok()).count();
    for (Item i : items) {
      if (i.ok()) {
        out.add(
            "ok    "
                + i.name()
                + " -> "
                + i.digest()
                + " ("
                + i.manifests()
                + " manifest(s), "
                + i.blobs()
                + " blob(s), "
                + WarmProgress.size(i.bytes())
                + ")");
      } else {
        out.add("FAIL  " + i.ref());
        i.problems().forEach(p -> out.add("        " + p));
      }
      i.notes().forEach(n -> out.add("        note: " + n));
    }
    out.add(
        "export: "
            + (items.size() - failed)
            + " of "
            + items.size()
            + " reference(s) written to "
            + output
            + (failed > 0 ? ", " + failed + " failed" : ""));
    return out;
  }
}
