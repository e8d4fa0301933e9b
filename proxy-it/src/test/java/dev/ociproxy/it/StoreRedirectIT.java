package dev.ociproxy.it;

import static dev.ociproxy.it.ItFixtures.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.it.support.Credentials;
import dev.ociproxy.it.support.Htpasswd;
import dev.ociproxy.it.support.Http;
import dev.ociproxy.it.support.OciImage;
import dev.ociproxy.it.support.OciImages;
import dev.ociproxy.it.support.ProcessGuard;
import dev.ociproxy.it.support.ProxyProcess;
import dev.ociproxy.it.support.RecordingRelay;
import dev.ociproxy.it.support.Skopeo;
import dev.ociproxy.it.support.UpstreamRegistry;
import dev.ociproxy.testing.S3Server;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code storage.s3.redirect: true} with the real jar and a real client: skopeo, authenticated to
 * the proxy, copies an image from Debian's docker-registry through a replica whose store is a real
 * S3 API (s3proxy, checking signatures). The second copy is sent to the bucket for every blob and
 * still ends with exactly the upstream's digests, and a relay in front of s3proxy sees that none of
 * the redirected GETs carried an {@code Authorization} (s3proxy would refuse one beside a presigned
 * query, as BlobRedirectsTest pins, so skopeo's success says so too).
 */
@ExtendWith(ProcessGuard.class)
class StoreRedirectIT {
  private static final String BUCKET = "redirected";
  private static final String UP = "real.test";
  private static final String REPO = "redirect/app";
  private static final Credentials ALICE = new Credentials("alice", "alice-password-1");

  @TempDir Path tmp;
  private S3Server s3;
  private RecordingRelay relay;
  private UpstreamRegistry registry;
  private ProxyProcess replica;

  @BeforeEach
  void start() throws java.io.IOException {
    ProxyProcess.availability().assumeAvailable();
    UpstreamRegistry.availability().assumeAvailable();
    Skopeo.availability().assumeAvailable();
    Htpasswd.availability().assumeAvailable();
    s3 = S3Server.start(BUCKET);
    relay = RecordingRelay.start(s3.endpoint().getPort());
    registry = UpstreamRegistry.startOpen();
    Path htpasswd = Htpasswd.write(tmp.resolve("htpasswd"), List.of(ALICE));
    // The store by another host name than the proxy (127.0.0.1): Go keeps Authorization only on
    // a redirect to the same host, and the proxy would not redirect a GET whose credentials would.
    String store = "http://localhost:" + relay.port();
    replica =
        ProxyProcess.builder()
            .upstream(UP, registry.url())
            .extraYaml(
                "auth:\n"
                    + "  realm: \"redirect-test\"\n"
                    + "  htpasswd: \""
                    + htpasswd
                    + "\"\n"
                    + "access:\n"
                    + "  - upstream: \""
                    + UP
                    + "\"\n    users: [\"alice\"]\n"
                    + S3Server.storageYaml(
                        store,
                        BUCKET,
                        "secret: \"store-redirect-it-secret-0123456789abcdef\"",
                        "redirect: true"))
            .start();
  }

  @AfterEach
  void stop() {
    if (replica != null) {
      replica.close();
    }
    if (registry != null) {
      registry.close();
    }
    if (relay != null) {
      relay.close();
    }
    if (s3 != null) {
      s3.close();
    }
  }

  @Test
  void skopeoCopiesAnImageWhoseBlobsAreRedirectedToTheBucket_andEndsWithTheUpstreamsDigests()
      throws Exception {
    OciImage image = OciImages.singleArch(tmp.resolve("layout"), "v1", 2_000_000, 300_000);
    Skopeo.push(image, registry, REPO + ":v1");
    String ref = replica.hostPort() + "/" + UP + "/" + REPO + ":v1";
    Set<String> blobs = image.blobDigests();

    Skopeo.DirImage cold = Skopeo.copyToDir(ref, tmp.resolve("cold"), ALICE, false);
    assertThat(cold.storedDigests()).containsExactlyInAnyOrderElementsOf(image.allDigests());
    assertThat(redirects()).as("nothing is in the bucket yet: served by the replica").isZero();
    await(
        "every blob in the bucket",
        Duration.ofSeconds(60),
        () ->
            blobs.stream()
                .allMatch(
                    d ->
                        s3.blobStore()
                            .blobExists(
                                BUCKET, "blobs/sha256/" + d.substring("sha256:".length()))));

    Skopeo.DirImage warm = Skopeo.copyToDir(ref, tmp.resolve("warm"), ALICE, false);
    assertThat(warm.manifestDigest()).isEqualTo(image.digest());
    assertThat(warm.storedDigests()).containsExactlyInAnyOrderElementsOf(image.allDigests());

    assertThat(redirects())
        .as("every blob of the warm copy sent to the bucket")
        .isEqualTo(blobs.size());
    Set<String> redirected =
        replica
            .log()
            .lines()
            .filter(l -> l.contains(" 307 0B ") && l.contains("cache=redirect"))
            .map(l -> l.substring(l.indexOf("/blobs/") + "/blobs/".length()).split(" ")[0])
            .collect(Collectors.toSet());
    assertThat(redirected).as("the access log's redirects").isEqualTo(blobs);
    List<String> presigned =
        relay.requestHeads().stream()
            .filter(
                h ->
                    h.startsWith("GET ")
                        && h.lines().findFirst().orElseThrow().contains("X-Amz-Signature="))
            .toList();
    assertThat(presigned)
        .as("the redirected GETs the store saw")
        .hasSizeGreaterThanOrEqualTo(blobs.size());
    assertThat(presigned)
        .allSatisfy(
            h -> assertThat(h.toLowerCase(Locale.ROOT)).doesNotContain("\r\nauthorization:"));
    assertThat(relay.requestHeads())
        .as("the replica's own requests, signed in a header: the relay sees headers")
        .anySatisfy(h -> assertThat(h).contains("\r\nAuthorization: AWS4-HMAC-SHA256 "));
    assertThat(replica.log())
        .as("no credential would have followed")
        .doesNotContain("answering blob GETs with credentials directly");
  }

  /** Blob GETs this replica answered with a redirect, from its metrics. */
  private double redirects() {
    String text =
        new String(
            Http.tryGet(replica.url() + "/metrics").orElseThrow().body(),
            java.nio.charset.StandardCharsets.UTF_8);
    return PrometheusText.parse(text)
        .sum("registry_proxy_cache_requests_total", "kind", "blob", "outcome", "redirect");
  }
}
