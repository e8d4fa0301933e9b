package dev.ociproxy.it;

import static dev.ociproxy.it.ItFixtures.random;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ociproxy.it.support.Credentials;
import dev.ociproxy.it.support.Htpasswd;
import dev.ociproxy.it.support.ProcessGuard;
import dev.ociproxy.it.support.ProxyProcess;
import dev.ociproxy.testing.HostileRegistry;
import dev.ociproxy.testing.RawHttpClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Who may pull what, against the real jar: a public upstream open to anonymous clients and a
 * private one closed to all but its users — for manifests, blobs and tag lists, cache hit and miss.
 */
@ExtendWith(ProcessGuard.class)
class ClientAuthIT {
  private static final String PUB = "public.test";
  private static final String PRIV = "private.test";
  private static final Credentials ALICE = new Credentials("alice", "alice-password-1");
  private static final Credentials BOB = new Credentials("bob", "bob-password-22");
  private static final String CAROL_TOKEN = "carol-static-token-0123456789";

  @TempDir static Path dir;
  static HostileRegistry pub;
  static HostileRegistry priv;
  static ProxyProcess proxy;
  static HostileRegistry.Image privImage;
  static HostileRegistry.Image pubImage;

  @BeforeAll
  static void start() throws IOException {
    assumeTrue(ProxyProcess.availability().available(), ProxyProcess.availability().reason());
    assumeTrue(Htpasswd.availability().available(), Htpasswd.availability().reason());
    pub = HostileRegistry.start();
    priv = HostileRegistry.start();
    pubImage = pub.putImage("lib/app", "v1", random(2_000, 1));
    privImage = priv.putImage("team/secret", "v1", random(2_000, 2));
    Path htpasswd = Htpasswd.write(dir.resolve("htpasswd"), List.of(ALICE, BOB));
    Path tokens = Files.writeString(dir.resolve("tokens"), "carol " + CAROL_TOKEN + "\n");
    proxy =
        ProxyProcess.builder()
            .upstream(PUB, pub.url())
            .upstream(PRIV, priv.url())
            .extraYaml(
                "auth:\n"
                    + "  realm: \"test-proxy\"\n"
                    + "  htpasswd: \""
                    + htpasswd
                    + "\"\n"
                    + "  tokens: \""
                    + tokens
                    + "\"\n"
                    + "  groups:\n    team: [\"carol\"]\n"
                    + "access:\n"
                    + "  - upstream: \""
                    + PUB
                    + "\"\n    anonymous: true\n"
                    + "  - upstream: \""
                    + PRIV
                    + "\"\n    users: [\"alice\"]\n    groups: [\"team\"]\n")
            .start();
  }

  @AfterAll
  static void stop() {
    if (proxy != null) {
      proxy.close();
    }
    if (pub != null) {
      pub.close();
    }
    if (priv != null) {
      priv.close();
    }
  }

  private static RawHttpClient.Response get(String path, String... headers) throws IOException {
    try (RawHttpClient c = new RawHttpClient("127.0.0.1", proxy.port(), Duration.ofSeconds(30))) {
      return c.get(path, headers);
    }
  }

  private static String basic(Credentials c) {
    return "Authorization: " + c.basicAuthorization();
  }

  private static List<String> privatePaths() {
    String base = "/v2/" + PRIV + "/team/secret";
    return List.of(
        base + "/manifests/v1",
        base + "/manifests/" + privImage.manifestDigest(),
        base + "/blobs/" + privImage.layerDigests().get(0),
        base + "/tags/list");
  }

  @Test
  void apiRootChallengesClientsWithoutCredentials() throws IOException {
    RawHttpClient.Response r = get("/v2/");
    assertThat(r.status()).isEqualTo(401);
    assertThat(r.header("WWW-Authenticate")).contains("Basic realm=\"test-proxy\"");
    assertThat(r.bodyText()).contains("UNAUTHORIZED");
    assertThat(get("/v2/", basic(ALICE)).status()).isEqualTo(200);
    assertThat(get("/v2/", basic(new Credentials("alice", "wrong"))).status()).isEqualTo(401);
  }

  @Test
  void anonymousClientsPullFromThePublicUpstreamHitAndMiss() throws IOException {
    String base = "/v2/" + PUB + "/lib/app";
    for (int pass = 0; pass < 2; pass++) {
      assertThat(get(base + "/manifests/v1").status()).isEqualTo(200);
      assertThat(get(base + "/blobs/" + pubImage.layerDigests().get(0)).status()).isEqualTo(200);
      assertThat(get(base + "/tags/list").status()).isEqualTo(200);
    }
  }

  @Test
  void anonymousAndWrongPasswordAreChallengedForThePrivateUpstreamAndNothingIsFetched()
      throws IOException {
    int before = priv.requests().size();
    for (String path : privatePaths()) {
      RawHttpClient.Response anon = get(path);
      assertThat(anon.status()).as(path).isEqualTo(401);
      assertThat(anon.header("WWW-Authenticate")).isPresent();
      assertThat(get(path, basic(new Credentials("alice", "nope"))).status())
          .as(path)
          .isEqualTo(401);
      assertThat(get(path, "Authorization: Bearer not-a-token-at-all-xx").status())
          .as(path)
          .isEqualTo(401);
    }
    assertThat(priv.requests().size()).isEqualTo(before);
  }

  @Test
  void authenticatedUserWithoutARuleForThePrivateUpstreamIsDeniedWithoutAFetch()
      throws IOException {
    int before = priv.requests().size();
    for (String path : privatePaths()) {
      RawHttpClient.Response r = get(path, basic(BOB));
      assertThat(r.status()).as(path).isEqualTo(403);
      assertThat(r.bodyText()).contains("DENIED");
    }
    assertThat(priv.requests().size()).isEqualTo(before);
  }

  @Test
  void allowedUserAndGroupMemberWithTokenPullPrivateContent() throws IOException {
    for (String path : privatePaths()) {
      assertThat(get(path, basic(ALICE)).status()).as(path).isEqualTo(200);
      assertThat(get(path, "Authorization: Bearer " + CAROL_TOKEN).status())
          .as(path)
          .isEqualTo(200);
    }
  }

  @Test
  void privateContentCachedByAnAuthorisedUserIsRefusedToOthersEvenThroughThePublicUpstream()
      throws IOException {
    String blob = privImage.layerDigests().get(0);
    assertThat(get("/v2/" + PRIV + "/team/secret/blobs/" + blob, basic(ALICE)).status())
        .isEqualTo(200);
    assertThat(get("/v2/" + PRIV + "/team/secret/blobs/" + blob).status()).isEqualTo(401);
    assertThat(get("/v2/" + PRIV + "/team/secret/manifests/" + privImage.manifestDigest()).status())
        .isEqualTo(401);
    // The public upstream never had it: the shared store must not hand it out there.
    RawHttpClient.Response viaPublic = get("/v2/" + PUB + "/lib/app/blobs/" + blob);
    assertThat(viaPublic.status()).isEqualTo(404);
    assertThat(viaPublic.bodyText()).contains("BLOB_UNKNOWN");
    RawHttpClient.Response manifestViaPublic =
        get("/v2/" + PUB + "/lib/app/manifests/" + privImage.manifestDigest());
    assertThat(manifestViaPublic.status()).isEqualTo(404);
  }

  @Test
  void secretsNeverAppearInTheLog() throws IOException {
    get(
        "/v2/" + PRIV + "/team/secret/manifests/v1",
        basic(new Credentials("alice", "leaky-wrong-password")));
    get("/v2/" + PRIV + "/team/secret/manifests/v1", "Authorization: Bearer " + CAROL_TOKEN);
    assertThat(proxy.log())
        .contains("authentication failed")
        .doesNotContain("leaky-wrong-password")
        .doesNotContain(ALICE.password())
        .doesNotContain(CAROL_TOKEN);
  }
}
