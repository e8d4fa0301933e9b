package dev.ociproxy.core.airgap;

import dev.ociproxy.core.oci.Digest;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/** What one warm run did for each reference; a reference with any problem counts as failed. */
public record WarmReport(List<Item> items) {
  public WarmReport {
    items = List.copyOf(items);
  }

  /**
   * One reference's outcome.
   *
   * @param digest what the reference resolved to (null when even that failed)
   * @param manifests manifests resolved (the index and each chosen platform's manifest, and those
   *     attached to them)
   * @param referrers referrers taken along (verified by the registry, of the asked artifact types)
   * @param signatures cosign signatures taken along: classic {@code .sig} manifests and bundle
   *     referrers
   */
  public record Item(
      ImageRef ref,
      @Nullable Digest digest,
      @Nullable String mediaType,
      int manifests,
      int referrers,
      int signatures,
      int blobsFetched,
      int blobsCached,
      long bytesFetched,
      long bytesCached,
      List<String> problems) {
    public Item {
      problems = List.copyOf(problems);
    }

    public boolean ok() {
      return problems.isEmpty();
    }
  }

  public boolean ok() {
    return items.stream().allMatch(Item::ok);
  }

  public long failed() {
    return items.stream().filter(i -> !i.ok()).count();
  }

  /** Human-readable report, one line per reference and one per problem. */
  public List<String> lines() {
    List<String> out = new ArrayList<>();
    for (Item i : items) {
      if (i.ok()) {
        out.add(
            "ok    "
                + i.ref()
                + " -> "
                + i.digest()
                + " ("
                + i.manifests()
                + " manifest(s), "
                + (i.referrers() > 0 ? i.referrers() + " referrer(s), " : "")
                + (i.signatures() > 0 ? i.signatures() + " signature(s), " : "")
                + i.blobsFetched()
                + " blob(s) fetched = "
                + WarmProgress.size(i.bytesFetched())
                + ", "
                + i.blobsCached()
                + " already cached = "
                + WarmProgress.size(i.bytesCached())
                + ")");
      } else {
        out.add("FAIL  " + i.ref() + (i.digest() == null ? "" : " -> " + i.digest()));
        i.problems().forEach(p -> out.add("        " + p));
      }
    }
    out.add(
        "warm: "
            + (items.size() - failed())
            + " of "
            + items.size()
            + " reference(s) complete"
            + (failed() > 0 ? ", " + failed() + " failed" : ""));
    return out;
  }
}
