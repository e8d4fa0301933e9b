package dev.ociproxy.server.admin.page;

import dev.ociproxy.core.airgap.AirgapOptions;
import dev.ociproxy.core.upstream.UpstreamStatus;
import java.time.Duration;
import java.time.Instant;

/**
 * The upstreams: whether each answers or backs off and why, its last error, what is in flight, its
 * errors since start and its rate-limit budget once the proxy reads one.
 */
final class UpstreamsSection {
  /** The gauges of an upstream's rate-limit budget, read by name once they exist. */
  static final String RATELIMIT_REMAINING = "registry_proxy_upstream_ratelimit_remaining";

  static final String RATELIMIT_LIMIT = "registry_proxy_upstream_ratelimit_limit";

  private UpstreamsSection() {}

  static void render(Html h, StatusSources s, MeterReadings m, Instant now) {
    h.raw("<section id=\"upstreams\" data-live aria-labelledby=\"h-upstreams\">")
        .raw("<h2 id=\"h-upstreams\">Upstreams</h2>")
        .raw(
            "<div class=\"scroll\" tabindex=\"0\"><table><caption>Health of each configured upstream registry</caption><thead><tr>");
    for (String c :
        new String[] {
          "Upstream",
          "URL",
          "Mode",
          "State",
          "Last error",
          "In flight",
          "Errors since start",
          "Rate-limit budget"
        }) {
      h.th(c);
    }
    h.raw("</tr></thead><tbody>");
    AirgapOptions air = s.airgap().options();
    for (StatusSources.Upstream u : s.upstreams()) {
      UpstreamStatus st = u.status().get();
      h.raw("<tr><th scope=\"row\">")
          .text(u.name())
          .raw("</th>")
          .el("td", u.url())
          .el(
              "td",
              air.isOffline(u.name())
                  ? "offline (cache only)"
                  : air.isPinnedOnly(u.name()) ? "pinned only" : "pull-through");
      if (st.backingOff()) {
        h.raw("<td class=\"bad\">")
            .text(
                "backing off, next try in "
                    + Html.duration(Duration.between(now, st.backingOffUntil()))
                    + " ("
                    + st.failures()
                    + " failure(s) in a row)")
            .raw("</td>");
      } else if (st.failures() > 0) {
        h.raw("<td class=\"warn\">")
            .text("answering after " + st.failures() + " failure(s)")
            .raw("</td>");
      } else {
        h.raw("<td class=\"ok\">ok</td>");
      }
      if (st.lastError() == null) {
        h.el("td", "none since start");
      } else {
        h.raw("<td>").text(st.lastError()).raw(", ").time(st.lastErrorAt()).raw("</td>");
      }
      h.el(
              "td",
              (long) m.sum("registry_proxy_downloads_in_flight", "upstream", u.name())
                  + " fetch(es)")
          .el("td", (long) m.sum("registry_proxy_upstream_errors", "upstream", u.name()))
          .el("td", budget(m, u.name()))
          .raw("</tr>");
    }
    h.raw("</tbody></table></div></section>");
  }

  private static String budget(MeterReadings m, String upstream) {
    if (!m.has(RATELIMIT_REMAINING, "upstream", upstream)) {
      return "not read yet";
    }
    long left = (long) m.sum(RATELIMIT_REMAINING, "upstream", upstream);
    return m.has(RATELIMIT_LIMIT, "upstream", upstream)
        ? left + " of " + (long) m.sum(RATELIMIT_LIMIT, "upstream", upstream) + " left"
        : left + " left";
  }
}
