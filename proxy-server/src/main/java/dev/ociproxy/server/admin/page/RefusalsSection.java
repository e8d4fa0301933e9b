package dev.ociproxy.server.admin.page;

import dev.ociproxy.core.verify.Refusals;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Upstream content refused as not what was asked for: counts per reason since start (the counter
 * {@code registry_proxy_verification_failures}) and the latest refusals with what arrived. What
 * arrived is the upstream's own text (a header, a media type): it is shown escaped, as text.
 */
final class RefusalsSection {
  /** Rows shown; each upstream keeps {@link Refusals#KEPT}. */
  static final int SHOWN = 50;

  private RefusalsSection() {}

  static void render(Html h, StatusSources s, MeterReadings m) {
    h.raw(
        "<section id=\"refusals\" data-live aria-labelledby=\"h-refusals\"><h2 id=\"h-refusals\">Recent refusals</h2>");
    Map<String, Double> byReason = m.sumBy("reason", "registry_proxy_verification_failures");
    if (byReason.isEmpty()) {
      h.raw("<p>No upstream content refused since start.</p></section>");
      return;
    }
    h.raw(
            "<div class=\"scroll\" tabindex=\"0\"><table><caption>Refusals per reason since start</caption><thead><tr>")
        .th("Reason")
        .th("Count")
        .raw("</tr></thead><tbody>");
    byReason.forEach(
        (reason, n) ->
            h.raw("<tr><th scope=\"row\">")
                .text(reason)
                .raw("</th>")
                .el("td", n.longValue())
                .raw("</tr>"));
    h.raw("</tbody></table></div>");
    List<Refusals.Refusal> recent = new ArrayList<>();
    for (StatusSources.Upstream u : s.upstreams()) {
      recent.addAll(u.refusals().recent());
    }
    recent.sort(Comparator.comparing(Refusals.Refusal::at).reversed());
    h.raw(
        "<div class=\"scroll\" tabindex=\"0\"><table class=\"wide\"><caption>Latest refusals, newest first</caption><thead><tr>");
    for (String c :
        new String[] {"Time", "Upstream", "Repository", "Asked for", "Reason", "What arrived"}) {
      h.th(c);
    }
    h.raw("</tr></thead><tbody>");
    for (Refusals.Refusal r : recent.subList(0, Math.min(SHOWN, recent.size()))) {
      h.raw("<tr><td>")
          .time(r.at())
          .raw("</td>")
          .el("td", r.upstream())
          .el("td", r.repository())
          .raw("<td class=\"mono\">")
          .text(r.asked())
          .raw("</td>")
          .el("td", r.reason())
          .raw("<td class=\"mono\">")
          .text(r.arrived())
          .raw("</td></tr>");
    }
    h.raw("</tbody></table></div></section>");
  }
}
