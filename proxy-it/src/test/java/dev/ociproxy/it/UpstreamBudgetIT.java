package dev.ociproxy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ociproxy.it.support.OciImage;
import dev.ociproxy.it.support.OciImages;
import dev.ociproxy.it.support.ProcessGuard;
import dev.ociproxy.it.support.ProxyProcess;
import dev.ociproxy.it.support.Skopeo;
import dev.ociproxy.it.support.TempDirs;
import dev.ociproxy.it.support.UpstreamRegistry;
import dev.ociproxy.testing.RawHttpClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Pattern;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What revalidating tags costs a real upstream (Debian's docker-registry), counted in its access
 * log: a stale tag costs a HEAD, a moved one a GET more, a tag under a {@code never} rule nothing.
 */
@ExtendWith(ProcessGuard.class)
class UpstreamBudgetIT {
  private static final String UP = "budget.example.com";

  static UpstreamRegistry registry;
  static ProxyProcess proxy;
  static Path tmp;

  @BeforeAll
  static void start() {
    assumeTrue(ProxyProcess.availability().available(), ProxyProcess.availability().reason());
    UpstreamRegistry.availability().assumeAvailable();
    Skopeo.availability().assumeAvailable();
    tmp = TempDirs.create("budget");
    registry = UpstreamRegistry.startOpen();
    proxy =
        ProxyProcess.builder()
            .upstream(UP, registry.url())
            .upstreamYaml(
                """
            freshness:
              - pattern: "latest"
                freshness: always
              - pattern: "v*"
                freshness: never
            """)
            .start();
  }

  @AfterAll
  static void stop() {
    if (proxy != null) {
      proxy.close();
    }
    if (registry != null) {
      registry.close();
    }
    if (tmp != null) {
      TempDirs.deleteRecursively(tmp);
    }
  }

  private static OciImage push(String repoAndTag, String layout, long size) {
    OciImage img = OciImages.singleArch(tmp.resolve(layout), "t", size);
    Skopeo.push(img, registry, repoAndTag);
    return img;
  }

  private static RawHttpClient.Response ask(String method, String repo, String tag)
      throws IOException {
    try (RawHttpClient c = new RawHttpClient("127.0.0.1", proxy.port(), Duration.ofSeconds(30))) {
      return c.exchange(
          method,
          "/v2/" + UP + "/" + repo + "/manifests/" + tag,
          "Accept: application/vnd.oci.image.manifest.v1+json");
    }
  }

  /**
   * The proxy's requests for this manifest in the registry's access log ("METHOD /v2/... HTTP/1.1"
   * ...).
   */
  private static long upstreamAsked(String method, String repo, String tag) {
    Pattern line =
        Pattern.compile(
            "\""
                + method
                + " /v2/"
                + Pattern.quote(repo)
                + "/manifests/"
                + Pattern.quote(tag)
                + " HTTP/1\\.1\" \\d+ .*\"registry-proxy/");
    try {
      return Files.readAllLines(registry.logFile()).stream()
          .filter(l -> line.matcher(l).find())
          .count();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Waits for the registry to log what it answered (it logs after the response). */
  private static long settled(String method, String repo, String tag, long atLeast) {
    try {
      return await()
          .atMost(Duration.ofSeconds(10))
          .pollInterval(Duration.ofMillis(50))
          .until(() -> upstreamAsked(method, repo, tag), n -> n >= atLeast);
    } catch (ConditionTimeoutException e) {
      return upstreamAsked(method, repo, tag); // the caller's assertion says how many
    }
  }

  @Test
  void nRevalidationsOfAnUnchangedTagCostNHeadsAndNoGet_andAClientHeadNoGetEither()
      throws Exception {
    OciImage img = push("steady/app:latest", "steady", 10_000);
    assertThat(ask("GET", "steady/app", "latest").status()).isEqualTo(200);
    assertThat(settled("GET", "steady/app", "latest", 1)).isEqualTo(1);

    for (int i = 0; i < 5; i++) {
      RawHttpClient.Response r = ask("GET", "steady/app", "latest");
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.header("Docker-Content-Digest")).contains(img.manifestDigest());
    }
    RawHttpClient.Response head = ask("HEAD", "steady/app", "latest");

    assertThat(head.header("Docker-Content-Digest")).contains(img.manifestDigest());
    assertThat(settled("HEAD", "steady/app", "latest", 6)).isEqualTo(6);
    assertThat(upstreamAsked("GET", "steady/app", "latest"))
        .as("only the first, cold GET")
        .isEqualTo(1);
  }

  @Test
  void aMovedTagCostsOneGetAndIsServedAtItsNewDigest() throws Exception {
    push("moving/app:latest", "moving-1", 10_000);
    assertThat(ask("GET", "moving/app", "latest").status()).isEqualTo(200);
    settled("GET", "moving/app", "latest", 1);
    OciImage moved = push("moving/app:latest", "moving-2", 12_000);

    RawHttpClient.Response r = ask("GET", "moving/app", "latest");

    assertThat(r.header("Docker-Content-Digest")).contains(moved.manifestDigest());
    assertThat(settled("HEAD", "moving/app", "latest", 1)).isEqualTo(1);
    assertThat(settled("GET", "moving/app", "latest", 2)).isEqualTo(2);
  }

  @Test
  void aTagMatchingANeverRuleIsNeverRevalidated_evenAfterTheUpstreamMovedIt() throws Exception {
    OciImage first = push("fixed/app:v1.2.3", "fixed-1", 10_000);
    assertThat(ask("GET", "fixed/app", "v1.2.3").status()).isEqualTo(200);
    settled("GET", "fixed/app", "v1.2.3", 1);
    push("fixed/app:v1.2.3", "fixed-2", 12_000);

    for (int i = 0; i < 3; i++) {
      assertThat(ask("GET", "fixed/app", "v1.2.3").header("Docker-Content-Digest"))
          .contains(first.manifestDigest());
      assertThat(ask("HEAD", "fixed/app", "v1.2.3").header("Docker-Content-Digest"))
          .contains(first.manifestDigest());
    }
    ask(
        "GET",
        "steady-marker/none",
        "latest"); // a later request, so the log has caught up with ours

    settled("GET", "steady-marker/none", "latest", 1);
    assertThat(upstreamAsked("GET", "fixed/app", "v1.2.3")).isEqualTo(1);
    assertThat(upstreamAsked("HEAD", "fixed/app", "v1.2.3")).isZero();
  }
}
