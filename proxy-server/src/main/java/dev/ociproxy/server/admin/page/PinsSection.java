package dev.ociproxy.server.admin.page;

import dev.ociproxy.core.airgap.DriftLog;
import dev.ociproxy.core.airgap.Pins;
import dev.ociproxy.core.oci.Digest;
import java.util.List;
import java.util.Map;

/** Pins and drift: the pinned tags whose upstream tag has moved, then the pins themselves. */
final class PinsSection {
  /** Pins listed; the rest are counted (the pin file is the full list). */
  static final int SHOWN = 200;

  private PinsSection() {}

  static void render(Html h, StatusSources s) {
    Pins pins = s.airgap().pins();
    List<DriftLog.Drift> drifts = s.airgap().drift().current();
    h.raw(
        "<section id=\"pins\" data-live aria-labelledby=\"h-pins\"><h2 id=\"h-pins\">Pins and drift</h2>");
    if (pins.isEmpty() && drifts.isEmpty()) {
      h.raw("<p>No pins (no <code>airgap.pins</code> file).</p></section>");
      return;
    }
    h.raw("<p>")
        .text(
            pins.size() + " pinned tag(s), " + drifts.size() + " drifting from their upstream tag.")
        .raw("</p>");
    if (!drifts.isEmpty()) {
      h.raw(
          "<div class=\"scroll\" tabindex=\"0\"><table class=\"wide\"><caption>Drift: the upstream moved these pinned tags; the proxy serves the pin"
              + "</caption><thead><tr>");
      for (String c :
          new String[] {
            "Pinned tag",
            "Pinned digest",
            "Upstream now points at",
            "Drifting since",
            "Last checked"
          }) {
        h.th(c);
      }
      h.raw("</tr></thead><tbody>");
      for (DriftLog.Drift d : drifts) {
        h.raw("<tr class=\"warn\"><th scope=\"row\">")
            .text(d.tag())
            .raw("</th><td class=\"mono\">")
            .text(d.pinned())
            .raw("</td><td class=\"mono\">")
            .text(d.upstream())
            .raw("</td><td>")
            .time(d.since())
            .raw("</td><td>")
            .time(d.lastChecked())
            .raw("</td></tr>");
      }
      h.raw("</tbody></table></div>");
    }
    h.raw(
            "<div class=\"scroll\" tabindex=\"0\"><table class=\"wide\"><caption>Pins</caption><thead><tr>")
        .th("Pinned tag")
        .th("Digest")
        .th("Cached")
        .raw("</tr></thead><tbody>");
    int n = 0;
    for (Map.Entry<Pins.Key, Digest> p : pins.all().entrySet()) {
      if (n++ == SHOWN) {
        break;
      }
      boolean cached = s.store().readManifest(p.getValue()) != null;
      h.raw("<tr><th scope=\"row\">")
          .text(p.getKey())
          .raw("</th><td class=\"mono\">")
          .text(p.getValue())
          .raw("</td>")
          .el("td", cached ? "yes" : "no")
          .raw("</tr>");
    }
    h.raw("</tbody></table></div>");
    if (pins.size() > SHOWN) {
      h.raw("<p>").text("and " + (pins.size() - SHOWN) + " more in the pin file.").raw("</p>");
    }
    h.raw("</section>");
  }
}
