package dev.ociproxy.server.admin.page;

import static java.util.Objects.requireNonNull;

import dev.ociproxy.core.oci.RepositoryName;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;

/**
 * Renders the operator's status page: one HTML document, every section server-rendered, so the
 * read-only parts work without JavaScript ({@code status.js} only refreshes the live sections and
 * sends the admin token). Rendering reads the catalog and the store's manifests, so it runs on this
 * page's own thread ({@link #executor()}), never on an event loop; so does the hit-ratio sampling.
 * {@link #close} stops that thread.
 */
public final class StatusPage implements AutoCloseable {
  static final int MAX_QUERY = 200;
  static final int MAX_PAGE = 100_000;

  /** Tag records read per batch when a search needs them all: a page waits at most one batch. */
  static final int FILL_BATCH = 500;

  static final long FILL_PAUSE_MILLIS = 50;

  /** What the URL asks to browse: nulls for absent parameters; {@code page} counts from 1. */
  record View(@Nullable String upstream, @Nullable String repo, @Nullable String q, int page) {
    /**
     * Reads {@code upstream}, {@code repo}, {@code q} and {@code page}; anything malformed is left
     * out.
     */
    static View of(Map<String, List<String>> params) {
      String upstream = first(params, "upstream");
      String repo = first(params, "repo");
      String q = first(params, "q");
      if (repo != null && (upstream == null || !RepositoryName.isValid(repo))) {
        repo = null;
      }
      if (q != null) {
        q = q.strip();
        q = q.isEmpty() ? null : q.substring(0, Math.min(q.length(), MAX_QUERY));
      }
      int page = 1;
      String p = first(params, "page");
      if (p != null && p.length() <= 6 && p.chars().allMatch(Character::isDigit)) {
        page = Math.max(1, Math.min(MAX_PAGE, Integer.parseInt(p)));
      }
      return new View(upstream, repo, q, page);
    }

    private static @Nullable String first(Map<String, List<String>> params, String key) {
      List<String> v = params.get(key);
      return v == null || v.isEmpty() || v.get(0).isEmpty() ? null : v.get(0);
    }

    View withPage(int p) {
      return new View(upstream, repo, q, p);
    }

    String href() {
      return Html.query(
          "upstream",
          upstream,
          "repo",
          repo,
          "q",
          q,
          "page",
          page == 1 ? null : String.valueOf(page));
    }
  }

  private final StatusSources sources;
  private final MeterReadings meters;
  private final HitRatio hitRatio;
  private final AtomicBoolean filling = new AtomicBoolean();
  private final ScheduledExecutorService executor =
      Executors.newSingleThreadScheduledExecutor(new DefaultThreadFactory("status-page", true));

  public StatusPage(StatusSources sources) {
    this.sources = requireNonNull(sources, "sources");
    this.meters = new MeterReadings(sources.meters());
    this.hitRatio = new HitRatio(meters);
    long every = HitRatio.SAMPLE_EVERY.toMillis();
    executor.scheduleAtFixedRate(
        () -> hitRatio.sample(System.currentTimeMillis()), 0, every, TimeUnit.MILLISECONDS);
  }

  /** Where pages are rendered: one thread, off the event loops. */
  ScheduledExecutorService executor() {
    return executor;
  }

  /**
   * The whole document.
   *
   * @param unlocked false when {@code admin.token} is set and the request did not carry it: then
   *     the page holds only the form that asks for it, and nothing read from the proxy
   * @param liveOnly true for the script's refresh: the live sections only, not what is cached
   */
  String render(View v, boolean tokenRequired, boolean unlocked, boolean liveOnly) {
    Instant now = Instant.now();
    Html h = new Html();
    h.raw("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">")
        .raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
        .raw("<title>registry-proxy status</title><link rel=\"stylesheet\" href=\"/status.css\">")
        .raw("<script src=\"/status.js\" defer></script></head><body")
        .raw(tokenRequired ? " data-token-required" : "")
        .raw(">")
        .raw(
            "<a class=\"skip\" href=\"#main\">Skip to the status</a><header><h1>registry-proxy status</h1>");
    if (!unlocked) {
      h.raw("</header><main id=\"main\" tabindex=\"-1\">");
      unlock(h);
      return h.raw("</main></body></html>").toString();
    }
    h.raw("<p class=\"asof\">As of ")
        .time(now)
        .raw(" · <a id=\"refresh\" href=\"")
        .text(v.href())
        .raw(
            "\">Refresh</a><span id=\"auto\" hidden> · <label><input type=\"checkbox\" id=\"auto-refresh\" checked>")
        .raw(" Refresh every 5 seconds</label></span></p><nav aria-label=\"Sections\"><ul>");
    String[][] sections = {
      {"upstreams", "Upstreams"},
      {"cache", "Cache"},
      {"cached", "What is cached"},
      {"refusals", "Recent refusals"},
      {"pins", "Pins and drift"},
      {"warm", "Warm jobs"},
      {"peers", "Peers"}
    };
    for (String[] s : sections) {
      h.raw("<li><a href=\"#" + s[0] + "\">").text(s[1]).raw("</a></li>");
    }
    h.raw("</ul></nav></header><main id=\"main\" tabindex=\"-1\">");
    UpstreamsSection.render(h, sources, meters, now);
    CacheSection.render(h, sources, meters, hitRatio, now.toEpochMilli());
    if (!liveOnly) {
      CatalogSection.render(h, sources, v);
      if (v.q() != null && filling.compareAndSet(false, true)) {
        fillCatalog(); // digests are searched in the records read so far
      }
    }
    RefusalsSection.render(h, sources, meters);
    PinsSection.render(h, sources);
    WarmSection.render(h, sources, now);
    h.raw(
            "<section id=\"peers\" data-live aria-labelledby=\"h-peers\"><h2 id=\"h-peers\">Peers</h2>")
        .raw("<p>Single replica: this proxy shares its cache with no other replica.</p></section>");
    return h.raw("</main></body></html>").toString();
  }

  /** Reads the catalog's tag records in small batches, between renderings, until all are read. */
  private void fillCatalog() {
    if (sources.store().catalog().fill(FILL_BATCH)) {
      executor.schedule(this::fillCatalog, FILL_PAUSE_MILLIS, TimeUnit.MILLISECONDS);
    } else {
      filling.set(false); // tags listed later are read by a later search
    }
  }

  /** The only content of a locked page: asks for the token, which the form never submits itself. */
  private static void unlock(Html h) {
    h.raw(
            "<section id=\"unlock-section\" aria-labelledby=\"h-unlock\"><h2 id=\"h-unlock\">Admin token required</h2>")
        .raw(
            "<p>This proxy has <code>admin.token</code> set. Enter it to see the status; the page keeps it in")
        .raw(" this tab's memory only and sends it as <code>Authorization: Bearer</code>.</p>")
        .raw("<noscript><p>Sending the token needs JavaScript.</p></noscript>")
        // No name attribute: a submit without the script sends nothing, so the token never lands in
        // a URL.
        .raw(
            "<form id=\"unlock\" method=\"get\" action=\"/\"><label for=\"token\">Admin token</label> ")
        .raw("<input id=\"token\" type=\"password\" autocomplete=\"off\" required> ")
        .raw("<button type=\"submit\">Show the status</button></form>")
        .raw("<p id=\"unlock-error\" role=\"alert\"></p></section>");
  }

  @Override
  public void close() {
    executor.shutdownNow();
  }
}
