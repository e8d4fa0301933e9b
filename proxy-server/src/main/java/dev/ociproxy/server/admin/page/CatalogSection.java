package dev.ociproxy.server.admin.page;

import dev.ociproxy.core.airgap.WarmProgress;
import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.cache.TagCatalog;
import dev.ociproxy.core.cache.TagIndex;
import dev.ociproxy.core.oci.Descriptor;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.ManifestDocument;
import dev.ociproxy.core.oci.RegistryException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NavigableSet;

/**
 * What is cached, browsable upstream → repository → tags (digest, size, when verified), and a
 * search by name or digest. One page of {@link #PAGE_SIZE} rows at a time: a walk over the sorted
 * names in memory, and only the shown rows' records and manifests read; never the whole index.
 */
final class CatalogSection {
  static final int PAGE_SIZE = 50;

  private CatalogSection() {}

  static void render(Html h, StatusSources s, StatusPage.View v) {
    h.raw(
            "<section id=\"cached\" aria-labelledby=\"h-cached\"><h2 id=\"h-cached\">What is cached</h2>")
        .raw(
            "<form method=\"get\" action=\"/\" role=\"search\"><label for=\"q\">Search by name or digest</label> ")
        .raw("<input id=\"q\" name=\"q\" type=\"search\" maxlength=\"")
        .text(StatusPage.MAX_QUERY)
        .raw("\" value=\"")
        .text(v.q() == null ? "" : v.q())
        .raw("\"> <button type=\"submit\">Search</button></form>");
    TagCatalog catalog = s.store().catalog();
    NavigableSet<TagCatalog.Name> names = catalog.names();
    h.raw("<nav aria-label=\"Where you are\" class=\"crumbs\">")
        .link(Html.query(), "All upstreams");
    if (v.upstream() != null) {
      h.raw(" › ").link(Html.query("upstream", v.upstream()), v.upstream());
    }
    if (v.repo() != null) {
      h.raw(" › ").link(Html.query("upstream", v.upstream(), "repo", v.repo()), v.repo());
    }
    h.raw("</nav>");
    String upstream = v.upstream();
    String repo = v.repo(); // only with an upstream (StatusPage.View.of)
    String q = v.q();
    if (q != null) {
      search(h, s, catalog, v, q);
    } else if (upstream != null && repo != null) {
      List<TagCatalog.Name> tags =
          names.tailSet(TagCatalog.Name.first(upstream, repo)).stream()
              .takeWhile(n -> n.upstream().equals(upstream) && n.repository().equals(repo))
              .toList();
      tags(h, s, catalog, tags, v, "Tags of " + upstream + "/" + repo);
    } else if (upstream != null) {
      repositories(h, names, v, upstream);
    } else {
      upstreams(h, names);
    }
    h.raw("</section>");
  }

  /** Repositories and tags per upstream. */
  private static void upstreams(Html h, NavigableSet<TagCatalog.Name> names) {
    Map<String, int[]> counts = new LinkedHashMap<>(); // upstream -> {repositories, tags}
    TagCatalog.Name last = null;
    for (TagCatalog.Name n : names) {
      int[] c = counts.computeIfAbsent(n.upstream(), k -> new int[2]);
      if (last == null
          || !last.upstream().equals(n.upstream())
          || !last.repository().equals(n.repository())) {
        c[0]++;
      }
      c[1]++;
      last = n;
    }
    if (counts.isEmpty()) {
      h.raw(
          "<p>Nothing cached yet: tags appear here once a client pulled them through the proxy.</p>");
      return;
    }
    h.raw(
            "<div class=\"scroll\" tabindex=\"0\"><table><caption>Cached tags per upstream</caption><thead><tr>")
        .th("Upstream")
        .th("Repositories")
        .th("Tags")
        .raw("</tr></thead><tbody>");
    counts.forEach(
        (u, c) ->
            h.raw("<tr><th scope=\"row\">")
                .link(Html.query("upstream", u), u)
                .raw("</th>")
                .el("td", c[0])
                .el("td", c[1])
                .raw("</tr>"));
    h.raw("</tbody></table></div>");
  }

  private static void repositories(
      Html h, NavigableSet<TagCatalog.Name> names, StatusPage.View v, String upstream) {
    record Repo(String name, int tags) {}
    List<Repo> page = new ArrayList<>(PAGE_SIZE);
    int total = 0;
    int skip = (v.page() - 1) * PAGE_SIZE;
    String current = null;
    int tags = 0;
    for (TagCatalog.Name n : names.tailSet(TagCatalog.Name.first(upstream, null))) {
      if (!n.upstream().equals(upstream)) {
        break;
      }
      if (!n.repository().equals(current)) {
        if (current != null && total++ >= skip && page.size() < PAGE_SIZE) {
          page.add(new Repo(current, tags));
        }
        current = n.repository();
        tags = 0;
      }
      tags++;
    }
    if (current != null && total++ >= skip && page.size() < PAGE_SIZE) {
      page.add(new Repo(current, tags));
    }
    if (total == 0) {
      h.raw("<p>").text("Nothing cached from " + upstream + " yet.").raw("</p>");
      return;
    }
    h.raw("<div class=\"scroll\" tabindex=\"0\"><table><caption>")
        .text("Repositories of " + upstream + " (" + total + ")")
        .raw("</caption>")
        .raw("<thead><tr>")
        .th("Repository")
        .th("Tags")
        .raw("</tr></thead><tbody>");
    for (Repo r : page) {
      h.raw("<tr><th scope=\"row\">")
          .link(Html.query("upstream", upstream, "repo", r.name()), r.name())
          .raw("</th>")
          .el("td", r.tags())
          .raw("</tr>");
    }
    h.raw("</tbody></table></div>");
    pages(h, v, total);
  }

  /**
   * Tags whose name holds the query, or whose digest does among the records read so far (the page
   * reads them all in the background after its first view; until then it says how far it got).
   */
  private static void search(
      Html h, StatusSources s, TagCatalog catalog, StatusPage.View v, String query) {
    String q = query.toLowerCase(Locale.ROOT);
    boolean whole = q.indexOf('/') >= 0 || q.indexOf(':') >= 0; // a name with its upstream or tag
    List<TagCatalog.Name> hits = new ArrayList<>();
    int[] counts = new int[2]; // records read, names
    catalog.forEach(
        (n, e) -> {
          counts[1]++;
          if (e != null) {
            counts[0]++;
          }
          boolean match =
              whole
                  ? (n.upstream() + "/" + n.repository() + ":" + n.tag().toLowerCase(Locale.ROOT))
                      .contains(q)
                  : n.repository().contains(q)
                      || n.upstream().contains(q)
                      || n.tag().toLowerCase(Locale.ROOT).contains(q);
          if (match || (e != null && e.digest().toString().contains(q))) {
            hits.add(n);
          }
        });
    int read = counts[0];
    int all = counts[1];
    if (read < all) {
      h.raw("<p>")
          .text(
              "Digests searched in "
                  + read
                  + " of "
                  + all
                  + " tag records; the rest are being read.")
          .raw("</p>");
    }
    tags(h, s, catalog, hits, v, "Tags matching “" + query + "”");
  }

  /** One page of tag rows out of {@code all}, with their digests, sizes and verification times. */
  private static void tags(
      Html h,
      StatusSources s,
      TagCatalog catalog,
      List<TagCatalog.Name> all,
      StatusPage.View v,
      String caption) {
    if (all.isEmpty()) {
      h.raw("<p>")
          .text(v.q() != null ? "No cached tag matches “" + v.q() + "”." : "No cached tags here.")
          .raw("</p>");
      return;
    }
    int from = Math.min((v.page() - 1) * PAGE_SIZE, all.size());
    h.raw("<div class=\"scroll\" tabindex=\"0\"><table class=\"wide\"><caption>")
        .text(caption + " (" + all.size() + ")")
        .raw("</caption><thead><tr>");
    for (String c : new String[] {"Image", "Digest", "Type", "Size", "Verified"}) {
      h.th(c);
    }
    h.raw("</tr></thead><tbody>");
    for (TagCatalog.Name n : all.subList(from, Math.min(from + PAGE_SIZE, all.size()))) {
      TagIndex.Entry e = catalog.entry(n);
      h.raw("<tr><th scope=\"row\">")
          .link(
              Html.query("upstream", n.upstream(), "repo", n.repository()),
              n.upstream() + "/" + n.repository())
          .text(":" + n.tag())
          .raw("</th>");
      if (e == null) {
        h.raw("<td colspan=\"4\">no longer cached</td></tr>");
        continue;
      }
      h.raw("<td class=\"mono\">")
          .text(e.digest())
          .raw("</td>")
          .el("td", e.mediaType())
          .el("td", size(s.store(), e.digest()))
          .raw("<td>")
          .time(Instant.ofEpochMilli(e.verifiedAtMillis()))
          .raw("</td></tr>");
    }
    h.raw("</tbody></table></div>");
    pages(h, v, all.size());
  }

  /**
   * What the cached manifest says of the image's size: its blobs for an image, its platforms for an
   * index.
   */
  static String size(ContentStore store, Digest d) {
    byte[] body = store.readManifest(d);
    if (body == null) {
      return "manifest no longer cached";
    }
    try {
      ManifestDocument doc = ManifestDocument.parse(body, null);
      if (doc.isIndex()) {
        return "index of " + doc.manifests().size() + " manifest(s)";
      }
      long total = body.length;
      List<Descriptor> blobs = doc.blobs();
      for (Descriptor b : blobs) {
        total += b.size();
      }
      return WarmProgress.size(total) + " (" + blobs.size() + " blob(s))";
    } catch (RegistryException e) {
      return "unreadable manifest";
    }
  }

  private static void pages(Html h, StatusPage.View v, int total) {
    int pages = Math.max(1, (total + PAGE_SIZE - 1) / PAGE_SIZE);
    if (pages == 1) {
      return;
    }
    h.raw("<nav aria-label=\"Pages\" class=\"pages\">");
    if (v.page() > 1) {
      h.link(v.withPage(v.page() - 1).href(), "Previous page").raw(" ");
    }
    h.text("Page " + Math.min(v.page(), pages) + " of " + pages);
    if (v.page() < pages) {
      h.raw(" ").link(v.withPage(v.page() + 1).href(), "Next page");
    }
    h.raw("</nav>");
  }
}
