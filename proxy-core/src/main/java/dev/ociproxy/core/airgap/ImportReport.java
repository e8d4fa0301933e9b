package dev.ociproxy.core.airgap;

import dev.ociproxy.core.oci.Digest;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * What an import let in and what it refused, entry by entry. An image lands only when every
 * manifest and blob it needs verified; {@code problems} of the archive itself (no {@code
 * index.json}, not a tar) refuse everything.
 */
public record ImportReport(java.nio.file.Path input, List<String> problems, List<Item> items) {
  public ImportReport {
    problems = List.copyOf(problems);
    items = List.copyOf(items);
  }

  /**
   * One {@code index.json} entry.
   *
   * @param name its ref name annotation (may be null)
   * @param tagged the tag recorded for it, or null (refused, or a name without a tag)
   */
  public record Item(
      @Nullable String name,
      @Nullable Digest digest,
      @Nullable ImageRef tagged,
      boolean imported,
      int manifests,
      int blobs,
      long bytes,
      List<String> problems,
      List<String> notes) {
    public Item {
      problems = List.copyOf(problems);
      notes = List.copyOf(notes);
    }
  }

  public boolean ok() {
    return problems.isEmpty() && items.stream().allMatch(Item::imported);
  }

  public long refused() {
    return items.stream().filter(i -> !i.imported()).count();
  }

  public List<String> lines() {
    List<String> out = new ArrayList<>();
    problems.forEach(p -> out.add("REFUSED " + input + ": " + p));
    for (Item i : items) {
      String what = (i.name() == null ? "(unnamed)" : i.name()) + " -> " + i.digest();
      if (i.imported()) {
        out.add(
            "ok      "
                + what
                + (i.tagged() == null ? " (by digest only)" : " as " + i.tagged())
                + " ("
                + i.manifests()
                + " manifest(s), "
                + i.blobs()
                + " blob(s), "
                + WarmProgress.size(i.bytes())
                + ")");
      } else {
        out.add("REFUSED " + what);
        i.problems().forEach(p -> out.add("        " + p));
      }
      i.notes().forEach(n -> out.add("        note: " + n));
    }
    out.add(
        "import: "
            + (items.size() - refused())
            + " of "
            + items.size()
            + " image(s) imported"
            + (refused() > 0 || !problems.isEmpty()
                ? ", " + (problems.isEmpty() ? refused() + " refused" : "archive refused")
                : ""));
    return out;
  }
}
