package dev.ociproxy.it;

import static dev.ociproxy.it.ItFixtures.random;
import static dev.ociproxy.it.support.Browser.step;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.it.support.Browser;
import dev.ociproxy.it.support.Http;
import dev.ociproxy.it.support.OciImage;
import dev.ociproxy.it.support.OciImages;
import dev.ociproxy.it.support.Ports;
import dev.ociproxy.it.support.ProxyProcess;
import dev.ociproxy.it.support.Skopeo;
import dev.ociproxy.it.support.UpstreamRegistry;
import dev.ociproxy.testing.HostileRegistry;
import dev.ociproxy.testing.Lie;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The operator's status page of the real jar, looked at in Debian's headless chromium: an image
 * after a pull, drift after a re-tag (real upstream, skopeo), a refusal of a hostile upstream's lie
 * whose markup shows as text, a warm job's progress, and with {@code admin.token} nothing without
 * the token; at 200% zoom nothing scrolls sideways and the first Tab stop skips to the status. Also
 * writes {@code target/status-page.png}, the README's screenshot.
 */
class StatusPageIT extends PerTestHostileUpstream {
  private static final String UP = "registry.example.com";
  private static final String MARKUP = "<img src=x onerror=\"window.pwned=true\">";

  @TempDir Path tmp;
  int adminPort;
  String admin;

  @BeforeEach
  void browser() {
    Browser.availability().assumeAvailable();
    adminPort = Ports.free();
    admin = "http://127.0.0.1:" + adminPort;
  }

  private ProxyProcess.Builder proxyWithAdmin(String upstreamUrl, String adminYaml) {
    return ProxyProcess.builder()
        .upstream(UP, upstreamUrl)
        .extraYaml("admin:\n  listen: \"127.0.0.1:" + adminPort + "\"\n" + adminYaml);
  }

  private static void await(
      String what, Duration timeout, java.util.function.BooleanSupplier done) {
    Awaitility.await(what)
        .atMost(timeout)
        .pollInterval(Duration.ofMillis(200))
        .until(done::getAsBoolean);
  }

  @Test
  void afterAPullTheImageIsListed_aReTagOfAPinShowsAsDrift_andBrowsingWorksWithoutJavaScript()
      throws Exception {
    UpstreamRegistry.availability().and(Skopeo.availability()).assumeAvailable();
    OciImage web = OciImages.singleArch(tmp.resolve("layout"), "web", 300_000);
    OciImage v1 = OciImages.singleArch(tmp.resolve("layout"), "v1", 100_000);
    OciImage moved = OciImages.singleArch(tmp.resolve("layout"), "moved", 100_000);
    Path pins = tmp.resolve("pins.yaml");
    Files.writeString(pins, "\"" + UP + "/team/app:v1\": \"" + v1.manifestDigest() + "\"\n");
    try (UpstreamRegistry registry = UpstreamRegistry.startOpen()) {
      proxy =
          proxyWithAdmin(registry.url(), "pins: \"" + pins + "\"\n")
              .cacheOption("tagTtl", "0s")
              .start();
      Skopeo.push(web, registry, "team/web:1.0");
      Skopeo.push(v1, registry, "team/app:v1");
      Skopeo.copyToDir(
          proxy.hostPort() + "/" + UP + "/team/web:1.0", tmp.resolve("web"), null, false);
      Skopeo.copyToDir(
          proxy.hostPort() + "/" + UP + "/team/app:v1", tmp.resolve("app"), null, false);
      Skopeo.push(moved, registry, "team/app:v1");
      await(
          "the drift log line",
          Duration.ofSeconds(60),
          () -> {
            Http.getManifest(proxy.url() + "/v2/" + UP + "/team/app/manifests/v1");
            return proxy.log().contains("pin drift: " + UP + "/team/app:v1");
          });

      Browser.Seen noScript =
          Browser.run(
              false,
              List.of(
                  step("goto", admin + "/"),
                  step("click", "#cached a:text-is(\"" + UP + "\")"),
                  step("click", "#cached a:text-is(\"team/web\")"),
                  step("text", "#cached"),
                  step("text", "#pins"),
                  step("text", "#upstreams")));
      Browser.Seen withScript =
          Browser.run(
              true,
              List.of(
                  step("goto", admin + "/?upstream=" + UP + "&repo=team/web"),
                  step("screenshot", Path.of("target/status-page.png").toAbsolutePath().toString()),
                  step("text", "#cached")));
      Browser.Seen zoomed =
          Browser.run(
              true,
              640,
              List.of( // 200% zoom of a 1280-pixel screen
                  step("goto", admin + "/?upstream=" + UP + "&repo=team/web"),
                  step("fits", true),
                  step("press", "Tab"),
                  step("focused", true),
                  step("press", "Enter"),
                  step("focused", true)));

      assertThat(noScript.url()).isEqualTo(admin + "/?upstream=" + UP + "&repo=team%2Fweb");
      assertThat(noScript.result(0))
          .contains(UP + "/team/web:1.0")
          .contains(web.manifestDigest())
          .contains(OciImages.OCI_MANIFEST);
      assertThat(noScript.result(1))
          .contains("Drift")
          .contains(UP + "/team/app:v1")
          .contains(v1.manifestDigest())
          .contains(moved.manifestDigest());
      assertThat(noScript.result(2)).contains(UP).contains(registry.url()).contains("ok");
      assertThat(withScript.result(0)).contains(web.manifestDigest());
      assertThat(withScript.pageErrors()).isEmpty();
      assertThat(withScript.console())
          .as("no Content-Security-Policy violation")
          .noneMatch(c -> c.startsWith("error"));
      assertThat(zoomed.result(0)).as("no sideways scrolling at 200% zoom").isEqualTo("true");
      assertThat(zoomed.results().subList(1, 3))
          .as("the first Tab stop skips to the status")
          .containsExactly("Skip to the status", "main");
    }
  }

  @Test
  void aLieFromTheHostileUpstreamIsListedAsARefusal_withItsMarkupShownAsTextNotRun()
      throws Exception {
    proxy = proxyWithAdmin(up.url(), "").start();
    String digest = up.putBlob("team/app", random(50_000, 1));
    up.lie(digest, Lie.digestHeaderText("sha256:" + MARKUP));
    String markupRepo =
        java.net.URLEncoder.encode("team/" + MARKUP, StandardCharsets.UTF_8).replace("%2F", "/");

    int refused = Http.status(proxy.url() + "/v2/" + UP + "/team/app/blobs/" + digest);
    int badName = Http.status(proxy.url() + "/v2/" + UP + "/" + markupRepo + "/blobs/" + digest);
    Browser.Seen seen =
        Browser.run(
            true,
            List.of(
                step("goto", admin + "/"),
                step("text", "#refusals"),
                step("count", "#refusals img"),
                step("count", "img")));

    assertThat(refused).isEqualTo(502);
    assertThat(badName)
        .as("a repository name with markup never gets past the router")
        .isBetween(400, 404);
    assertThat(seen.result(0))
        .contains("digest_header_mismatch")
        .contains(UP)
        .contains("team/app")
        .contains("Docker-Content-Digest sha256:" + MARKUP);
    assertThat(seen.result(1)).as("no element made from the upstream's markup").isEqualTo("0");
    assertThat(seen.result(2)).isEqualTo("0");
    assertThat(seen.pwned()).isFalse();
    assertThat(seen.dialogs()).isEmpty();
    assertThat(seen.pageErrors()).isEmpty();
  }

  @Test
  void aWarmJobShowsItsProgressWhileItRuns_thenItsReport() throws Exception {
    proxy = proxyWithAdmin(up.url(), "").start();
    HostileRegistry.Image img =
        up.putImage("team/big", "v1", random(200_000, 2), random(300_000, 3));
    up.lie(img.layerDigests().get(1), Lie.delayHeaders(Duration.ofSeconds(20)));
    HttpRequest warm =
        HttpRequest.newBuilder(URI.create(admin + "/admin/warm"))
            .timeout(Duration.ofMinutes(2))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString("{\"refs\": [\"" + UP + "/team/big:v1\"]}"))
            .build();
    Future<HttpResponse<String>> answer =
        pool.submit(() -> Http.client().send(warm, HttpResponse.BodyHandlers.ofString()));

    // The page's own refresh (every 5 s) brings the progress in: the browser stays on the page.
    Browser.Seen running =
        Browser.run(
            true,
            List.of(
                step("goto", admin + "/"),
                step("waitText", "#warm", "text", "2/3 blobs"),
                step("text", "#warm"),
                step("count", "#warm progress")));
    up.releaseDelays(); // the page showed the job running: let it finish
    HttpResponse<String> done = answer.get(2, TimeUnit.MINUTES);
    Browser.Seen over =
        Browser.run(true, List.of(step("goto", admin + "/"), step("text", "#warm")));

    assertThat(running.result(0))
        .contains(UP + "/team/big:v1")
        .contains("running for")
        .contains("2/3 blobs");
    assertThat(running.result(1)).isEqualTo("1");
    assertThat(done.statusCode()).as(done.body()).isEqualTo(200);
    assertThat(over.result(0))
        .contains("complete")
        .contains("3/3 blobs")
        .contains("ok " + UP + "/team/big:v1 -> " + img.manifestDigest());
  }

  @Test
  void withAnAdminToken_thePageShowsNothingWithoutIt_doesNothing_andKeepsTheTokenInTheTabOnly()
      throws Exception {
    String token = "status-page-it-token-0123456789";
    proxy = proxyWithAdmin(up.url(), "  token: \"" + token + "\"\n").start();
    HostileRegistry.Image img = up.putImage("team/secret-app", "v1", random(10_000, 4));
    assertThat(
            Http.getManifest(proxy.url() + "/v2/" + UP + "/team/secret-app/manifests/v1")
                .statusCode())
        .isEqualTo(200);
    int upstreamRequests = up.requests().size();

    Browser.Seen seen =
        Browser.run(
            true,
            List.of(
                step("goto", admin + "/"),
                step("text", "body"),
                step("fill", "#token", "value", "not-the-token-0123456789"),
                step("click", "#unlock button"),
                step("waitText", "#unlock-error", "text", "Not accepted"),
                step("fill", "#token", "value", token),
                step("press", "Enter"),
                step("waitText", "#cached", "text", "What is cached"),
                step("click", "#cached a:text-is(\"" + UP + "\")"),
                step("waitText", "#cached", "text", "team/secret-app"),
                step("click", "#cached a:text-is(\"team/secret-app\")"),
                step("waitText", "#cached", "text", img.manifestDigest()),
                step("wait", 6000), // one refresh of the live sections, with the token
                step("text", "#upstreams")));

    assertThat(seen.result(0))
        .contains("Admin token required")
        .doesNotContain("secret-app")
        .doesNotContain(UP)
        .doesNotContain("Recent refusals");
    assertThat(seen.result(1)).contains(UP).contains("ok");
    assertThat(seen.requests())
        .as("only reads of the admin listener")
        .allMatch(r -> r.startsWith("GET " + admin + "/"));
    assertThat(up.requests()).as("the page made the proxy fetch nothing").hasSize(upstreamRequests);
    assertThat(seen.url()).doesNotContain(token).contains("repo=team%2Fsecret-app");
    assertThat(String.join(" ", seen.requests())).doesNotContain(token);
    assertThat(seen.cookies()).isEmpty();
    assertThat(seen.storage()).isEqualTo("{\"local\":{},\"session\":{}}");
    assertThat(proxy.log())
        .contains("status page from")
        .contains("refused: wrong token")
        .doesNotContain(token);
  }
}
