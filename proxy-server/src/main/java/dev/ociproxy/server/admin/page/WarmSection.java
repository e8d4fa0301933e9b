package dev.ociproxy.server.admin.page;

import dev.ociproxy.core.airgap.WarmJobs;
import dev.ociproxy.core.airgap.WarmProgress;
import dev.ociproxy.core.airgap.WarmReport;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * Warm jobs, from the admin listener and the configured warm list: progress bars while they run,
 * their reports once over.
 */
final class WarmSection {
  private WarmSection() {}

  static void render(Html h, StatusSources s, Instant now) {
    List<WarmJobs.Job> jobs = s.warms().all();
    h.raw(
        "<section id=\"warm\" data-live aria-labelledby=\"h-warm\"><h2 id=\"h-warm\">Warm jobs</h2>");
    if (jobs.isEmpty()) {
      h.raw(
          "<p>No warm job since start (<code>POST /admin/warm</code> or the configured <code>warm</code> list starts one).</p></section>");
      return;
    }
    h.raw(
        "<div class=\"scroll\" tabindex=\"0\"><table class=\"wide\"><caption>Warm jobs: running first, then the latest finished</caption><thead><tr>");
    for (String c :
        new String[] {
          "Job", "Started by", "References", "Started", "State", "Progress", "Report"
        }) {
      h.th(c);
    }
    h.raw("</tr></thead><tbody>");
    for (WarmJobs.Job j : jobs) {
      WarmProgress.Snapshot p = j.progress().snapshot();
      h.raw("<tr><th scope=\"row\">")
          .text("#" + j.id())
          .raw("</th><td>")
          .text(j.origin())
          .raw("</td><td>")
          .text(String.join(", ", j.refs()))
          .raw("</td><td>")
          .time(j.started())
          .raw("</td>");
      Instant end = j.finished();
      WarmReport report = j.report();
      if (end == null) {
        h.el("td", "running for " + Html.duration(Duration.between(j.started(), now)));
      } else if (report != null && report.ok()) {
        h.raw("<td class=\"ok\">").text("complete").raw("</td>");
      } else {
        h.raw("<td class=\"bad\">").text("failed").raw("</td>");
      }
      h.raw("<td>")
          .progress(p.bytesDone(), p.bytesTotal(), "warm #" + j.id() + " bytes")
          .text(p.line())
          .raw("</td><td>");
      if (j.failure() != null) {
        h.text(j.failure());
      } else if (report != null) {
        h.raw("<ul>");
        for (String line : report.lines()) {
          h.el("li", line);
        }
        h.raw("</ul>");
      } else {
        h.text(null);
      }
      h.raw("</td></tr>");
    }
    h.raw("</tbody></table></div></section>");
  }
}
