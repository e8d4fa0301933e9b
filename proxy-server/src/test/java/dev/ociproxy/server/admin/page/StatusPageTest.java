package dev.ociproxy.server.admin.page;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.core.airgap.WarmProgress;
import dev.ociproxy.core.upstream.UpstreamStatus;
import dev.ociproxy.core.verify.VerificationException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the status page shows, rendered from a real store, refusals, warm jobs and meters. */
class StatusPageTest {
  private static final String MARKUP = "<img src=x onerror=alert(1)>";

  @TempDir Path cache;
  PageFixture f;

  @BeforeEach
  void start() {
    f = new PageFixture(cache);
  }

  @AfterEach
  void stop() {
    f.close();
  }

  private static int rows(String html, String sectionId) {
    String section = section(html, sectionId);
    Matcher m = Pattern.compile("<tr><th scope=\"row\">").matcher(section);
    int n = 0;
    while (m.find()) {
      n++;
    }
    return n;
  }

  private static String section(String html, String id) {
    int from = html.indexOf("<section id=\"" + id + "\"");
    assertThat(from).as("section " + id).isNotNegative();
    return html.substring(from, html.indexOf("</section>", from));
  }

  @Test
  void markupFromUpstreamsAndClientsIsShownAsText_inEveryFieldItCanReach() {
    f.refusals.record(
        PageFixture.UP,
        "lib/" + MARKUP,
        "v1" + MARKUP,
        VerificationException.Reason.DIGEST_HEADER_MISMATCH,
        "Docker-Content-Digest sha256:" + MARKUP);
    f.status =
        new UpstreamStatus(Instant.now().plusSeconds(30), "HTTP 503 " + MARKUP, Instant.now(), 2);
    f.warms.started(
        "POST /admin/warm", List.of("up.example/lib/app:" + MARKUP), new WarmProgress());

    String html =
        f.render(
            "?q=" + java.net.URLEncoder.encode(MARKUP, java.nio.charset.StandardCharsets.UTF_8));

    assertThat(html).doesNotContain("<img").contains("&lt;img src=x onerror=alert(1)&gt;");
    assertThat(section(html, "refusals"))
        .contains("lib/&lt;img")
        .contains("Docker-Content-Digest sha256:&lt;img");
    assertThat(section(html, "upstreams")).contains("HTTP 503 &lt;img").contains("backing off");
    assertThat(section(html, "warm")).contains("lib/app:&lt;img");
    assertThat(section(html, "cached")).contains("value=\"&lt;img src=x onerror=alert(1)&gt;\"");
  }

  @Test
  void refusalsAreCountedPerReason_andListedNewestFirst() {
    f.refusals.record(
        PageFixture.UP, "lib/a", "sha256:1", VerificationException.Reason.DIGEST_MISMATCH, "first");
    f.refusals.record(
        PageFixture.UP,
        "lib/b",
        "sha256:2",
        VerificationException.Reason.DIGEST_MISMATCH,
        "second");
    f.refusals.record(
        PageFixture.UP, "lib/c", "v1", VerificationException.Reason.TOO_LARGE, "third");

    String refusals = section(f.render(""), "refusals");

    assertThat(refusals)
        .contains("<th scope=\"row\">digest_mismatch</th><td>2</td>")
        .contains("<th scope=\"row\">too_large</th><td>1</td>");
    assertThat(refusals.indexOf(">third<")).as(refusals).isLessThan(refusals.indexOf(">second<"));
    assertThat(refusals.indexOf(">second<")).isLessThan(refusals.indexOf(">first<"));
  }

  @Test
  void cachedTagsBrowseFromUpstreamToRepositoryToTags_withDigests() {
    String digest = f.tag("team/app", "v1").toString();
    f.tag("team/app", "v2");
    f.tag("team/other", "latest");

    assertThat(section(f.render(""), "cached"))
        .contains("<a href=\"/?upstream=up.example\">up.example</a>")
        .contains("<td>2</td><td>3</td>"); // repositories, tags
    String repos = section(f.render("?upstream=up.example"), "cached");
    assertThat(repos)
        .contains("team/app")
        .contains("team/other")
        .contains("Repositories of up.example (2)");
    String tags = section(f.render("?upstream=up.example&repo=team/app"), "cached");
    assertThat(tags)
        .contains("Tags of up.example/team/app (2)")
        .contains(":v1")
        .contains(":v2")
        .contains(digest)
        .contains("manifest no longer cached")
        .doesNotContain("latest");
  }

  @Test
  void aLongListIsPaginated_fiftyRowsAPage_withLinksBothWays() {
    for (int i = 0; i < 120; i++) {
      f.tag("lib/r" + String.format("%03d", i), "v1");
    }

    String first = section(f.render("?upstream=up.example"), "cached");
    String third = section(f.render("?upstream=up.example&page=3"), "cached");

    assertThat(rows(f.render("?upstream=up.example"), "cached"))
        .isEqualTo(CatalogSection.PAGE_SIZE);
    assertThat(first)
        .contains("lib/r000")
        .contains("lib/r049")
        .doesNotContain("lib/r050")
        .contains("Page 1 of 3")
        .contains("href=\"/?upstream=up.example&amp;page=2\">Next page</a>")
        .doesNotContain("Previous page");
    assertThat(rows(f.render("?upstream=up.example&page=3"), "cached")).isEqualTo(20);
    assertThat(third)
        .contains("lib/r100")
        .contains("lib/r119")
        .contains("Previous page")
        .doesNotContain("Next page");
  }

  @Test
  void searchFindsTagsByName_andByDigestOnceTheirRecordsAreRead() {
    f.tag("team/app", "v1");
    String otherDigest = f.tag("team/other", "latest").toString();
    f.close(); // a restart: the catalog lists names from disk and reads records on demand
    f = new PageFixture(cache);

    String byName = section(f.render("?q=app:v1"), "cached");
    assertThat(byName).contains("Tags matching").contains("team/app").doesNotContain("team/other");

    f.store.catalog().fill(Integer.MAX_VALUE);
    String byDigest = section(f.render("?q=" + otherDigest.substring(7, 20)), "cached");
    assertThat(byDigest).contains("team/other").contains(otherDigest).doesNotContain("team/app");
  }

  @Test
  void aLockedPageHoldsOnlyTheTokenForm() {
    f.tag("team/app", "v1");
    f.refusals.record(
        PageFixture.UP, "lib/secret", "v1", VerificationException.Reason.TOO_LARGE, "x");

    String html = f.page.render(StatusPage.View.of(java.util.Map.of()), true, false, false);

    assertThat(html)
        .contains("Admin token required")
        .contains("<input id=\"token\" type=\"password\"")
        .doesNotContain("team/app")
        .doesNotContain("lib/secret")
        .doesNotContain(PageFixture.UP)
        .doesNotContain("name=\"token\""); // never submitted by a form: it must not land in a URL
  }

  @Test
  void theLiveRefreshLeavesOutWhatIsCached() {
    f.tag("team/app", "v1");

    String live = f.page.render(StatusPage.View.of(java.util.Map.of()), false, true, true);

    assertThat(live)
        .contains("id=\"upstreams\"")
        .contains("id=\"refusals\"")
        .doesNotContain("id=\"cached\"");
  }

  @Test
  void aRunningWarmShowsItsProgress_andAFinishedOneItsReport() {
    WarmProgress running = new WarmProgress();
    f.warms.started("POST /admin/warm", List.of("up.example/team/app:v1"), running);

    String html = section(f.render(""), "warm");

    assertThat(html)
        .contains("up.example/team/app:v1")
        .contains("running for")
        .contains("<progress")
        .contains("0/0 blobs")
        .contains("POST /admin/warm");
  }
}
