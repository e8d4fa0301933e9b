package dev.ociproxy.it;

import static dev.ociproxy.it.ItFixtures.await;
import static dev.ociproxy.it.ItFixtures.random;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ociproxy.core.cluster.Cluster;
import dev.ociproxy.core.cluster.PeerAuth;
import dev.ociproxy.core.cluster.Rendezvous;
import dev.ociproxy.it.support.Credentials;
import dev.ociproxy.it.support.Htpasswd;
import dev.ociproxy.it.support.Http;
import dev.ociproxy.it.support.Ports;
import dev.ociproxy.it.support.ProcessGuard;
import dev.ociproxy.it.support.ProxyProcess;
import dev.ociproxy.it.support.RegistryPush;
import dev.ociproxy.it.support.UpstreamRegistry;
import dev.ociproxy.testing.HostileRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Several replicas, one upstream fetch: three (then four) real proxy processes with separate
 * caches, listing each other under {@code cluster.peers}, in front of a hostile registry that
 * counts what it serves. Clients are spread over the replicas; whatever they pull cold is fetched
 * from the upstream by the digest's owner only, and the others stream it from the owner, verifying
 * it.
 */
@ExtendWith(ProcessGuard.class)
class ClusterIT {
  private static final String UP = "up.test";
  private static final String REPO = "team/app";
  private static final String SECRET = "it-cluster-secret-0123456789abcdef";

  /** Who signs the test's own peer requests: the receiver checks only that they are for it. */
  private static final String ME = "127.0.0.1:1";

  private final ExecutorService pool = Executors.newCachedThreadPool();
  private final List<ProxyProcess> replicas = new ArrayList<>();
  private final List<String> members = new ArrayList<>();
  private HostileRegistry up;

  @BeforeEach
  void start() {
    assumeTrue(ProxyProcess.availability().available(), ProxyProcess.availability().reason());
    up = HostileRegistry.start();
    for (int i = 0; i < 4; i++) {
      members.add("127.0.0.1:" + Ports.free()); // the fourth joins later
    }
  }

  @AfterEach
  void stop() {
    pool.shutdownNow();
    replicas.forEach(ProxyProcess::close);
    if (up != null) {
      up.close();
    }
  }

  private ProxyProcess replica(int i) {
    return replica(members.get(i), members);
  }

  private ProxyProcess replica(String me, List<String> members) {
    return replica(me, members, "");
  }

  private ProxyProcess replica(String me, List<String> members, String moreYaml) {
    return replica(me, members, moreYaml, up.url());
  }

  private ProxyProcess replica(
      String me, List<String> members, String moreYaml, String upstreamUrl) {
    ProxyProcess p =
        ProxyProcess.builder()
            .port(Integer.parseInt(me.substring(me.indexOf(':') + 1)))
            .upstream(UP, upstreamUrl)
            .env("CLUSTER_SECRET", SECRET)
            .extraYaml(
                "cluster:\n  peers: [\""
                    + String.join("\", \"", members)
                    + "\"]\n  advertise: \""
                    + me
                    + "\"\n  secret: \"${CLUSTER_SECRET}\"\n"
                    + moreYaml)
            .start();
    replicas.add(p);
    return p;
  }

  private static PrometheusText metrics(ProxyProcess p) {
    return PrometheusText.parse(new String(Http.tryGet(p.url() + "/metrics").orElseThrow().body()));
  }

  private static void awaitHealthy(ProxyProcess p, int n) {
    await(
        p.hostPort() + " sees " + n + " healthy replicas",
        Duration.ofSeconds(30),
        () -> metrics(p).sum("registry_proxy_cluster_members", "state", "healthy") == n);
  }

  /** A streamed GET: status, bytes read, their SHA-256, and whether the body ended whole. */
  record Pulled(int status, long bytes, String sha256, boolean whole) {}

  private static Pulled pull(ProxyProcess p, String digest) {
    HttpRequest req =
        HttpRequest.newBuilder(URI.create(p.url() + "/v2/" + UP + "/" + REPO + "/blobs/" + digest))
            .timeout(Duration.ofSeconds(120))
            .build();
    long n = 0;
    MessageDigest md = sha256();
    int status = -1;
    try {
      HttpResponse<InputStream> r =
          Http.client().send(req, HttpResponse.BodyHandlers.ofInputStream());
      status = r.statusCode();
      try (InputStream in = r.body()) {
        byte[] buf = new byte[1 << 16];
        for (int k; (k = in.read(buf)) >= 0; ) {
          md.update(buf, 0, k);
          n += k;
        }
      }
      return new Pulled(status, n, "sha256:" + HexFormat.of().formatHex(md.digest()), true);
    } catch (IOException e) {
      return new Pulled(status, n, "", false); // cut: what a client sees when a transfer aborts
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private int blobGets(String digest) {
    return up.count("GET", "/v2/" + REPO + "/blobs/" + digest);
  }

  @Test
  void eightConcurrentColdPullsOverThreeReplicasCostTheUpstreamOneDownload() throws Exception {
    List<ProxyProcess> three = List.of(replica(0), replica(1), replica(2));
    three.forEach(p -> awaitHealthy(p, 3));
    byte[] blob = random(64 << 20, 18);
    String digest = up.putBlob(REPO, blob);

    long started = System.nanoTime();
    List<Future<Pulled>> all = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      ProxyProcess via = three.get(i % 3);
      all.add(pool.submit(() -> pull(via, digest)));
    }
    for (Future<Pulled> f : all) {
      Pulled r = f.get(180, TimeUnit.SECONDS);
      assertThat(r.status()).isEqualTo(200);
      assertThat(r.whole()).as("body ended whole").isTrue();
      assertThat(r.bytes()).isEqualTo(blob.length);
      assertThat(r.sha256()).isEqualTo(digest);
    }
    long ms = (System.nanoTime() - started) / 1_000_000;
    System.out.printf("ClusterIT: 8 cold pulls of 64 MiB over 3 replicas took %d ms%n", ms);

    assertThat(blobGets(digest)).as("upstream GETs of the blob").isEqualTo(1);
    String owner = Rendezvous.owner(digest, members.subList(0, 3));
    double fromPeers = 0;
    for (ProxyProcess p : three) {
      PrometheusText m = metrics(p);
      boolean owns = p.hostPort().equals(owner);
      assertThat(m.sum("registry_proxy_blob_fetches_total", "source", "upstream"))
          .as("upstream fetches by %s (owner %s)", p.hostPort(), owner)
          .isEqualTo(owns ? 1 : 0);
      fromPeers += m.sum("registry_proxy_blob_bytes_total", "source", "peer");
    }
    assertThat(fromPeers)
        .as("bytes the two others read from the owner")
        .isEqualTo(2.0 * blob.length);
    for (ProxyProcess p : three) {
      assertThat(p.log()).as("health checks answered").doesNotContain("/_peer/ping 200");
      if (p.hostPort().equals(owner)) {
        assertThat(p.log()).as("blobs asked by peers").contains("GET /_peer/v2/" + UP + "/" + REPO);
      }
    }
  }

  /**
   * The owner is killed mid-body: each other replica asks Debian's docker-registry for the rest
   * with a Range and goes on with the same download, so its clients' single pulls end whole and
   * right, with no retry. The owner reaches the registry over a slow link, so the kill lands
   * mid-body however loaded the machine is; the others reach it directly.
   */
  @Test
  void theOwnerKilledMidPullLeavesTheOthersClientsWholeAndALateReplicaJoins() throws Exception {
    UpstreamRegistry.availability().assumeAvailable();
    try (UpstreamRegistry registry = UpstreamRegistry.startOpen();
        SlowLink slow = new SlowLink(registry.port(), 1 << 20)) { // 8 MiB take the owner 8 s
      List<String> three = members.subList(0, 3);
      byte[] blob = ownedBy(three.get(0), three, 8 << 20);
      String digest = "sha256:" + HexFormat.of().formatHex(sha256().digest(blob));
      RegistryPush.blob(registry, REPO, blob);
      // Each lists all four members: the fourth joins later.
      ProxyProcess ownerProcess = replica(three.get(0), members, "", slow.url());
      List<ProxyProcess> others =
          List.of(
              replica(three.get(1), members, "", registry.url()),
              replica(three.get(2), members, "", registry.url()));
      awaitHealthy(ownerProcess, 3);
      others.forEach(p -> awaitHealthy(p, 3));

      List<Future<Pulled>> clients = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        ProxyProcess via = others.get(i % 2);
        clients.add(pool.submit(() -> pull(via, digest)));
      }
      await(
          "the owner streaming to both other replicas, 1 MiB in",
          Duration.ofSeconds(60),
          () -> others.stream().allMatch(p -> peerFetches(p) == 1) && slow.answered() > 1 << 20);
      ownerProcess.kill9();
      long killed = System.nanoTime();

      for (Future<Pulled> f : clients) {
        Pulled r = f.get(120, TimeUnit.SECONDS);
        System.out.printf(
            "ClusterIT: a client of a surviving replica, done %d ms after the kill: %s%n",
            (System.nanoTime() - killed) / 1_000_000, r);
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.whole()).as("the first attempt ended whole (%s)", r).isTrue();
        assertThat(r.bytes()).isEqualTo(blob.length);
        assertThat(r.sha256()).isEqualTo(digest);
      }
      for (ProxyProcess p : others) {
        assertThat(metrics(p).sum("registry_proxy_peer_fallbacks_total", "stage", "body"))
            .as("%s continued from the upstream", p.hostPort())
            .isEqualTo(1);
        assertThat(p.log()).contains("asking the upstream for the rest (Range: bytes=");
      }
      assertThat(registryGets(registry, digest, "206"))
          .as("one Range request per surviving replica")
          .isEqualTo(2);
      assertThat(registryGets(registry, digest, "200"))
          .as("whole GETs: the owner's only, over the slow link")
          .isLessThanOrEqualTo(1);

      // The killed owner out of both survivors' view first: counting three healthy must then
      // mean the late one, not the dead one not yet missed (a survivor asked the wrong owner once).
      others.forEach(p -> awaitHealthy(p, 2));
      ProxyProcess late = replica(members.get(3), members, "", registry.url());
      awaitHealthy(late, 3);
      others.forEach(p -> awaitHealthy(p, 3));
      byte[] next =
          ownedBy(
              late.hostPort(),
              List.of(others.get(0).hostPort(), others.get(1).hostPort(), late.hostPort()),
              200_000);
      String lateOwned = "sha256:" + HexFormat.of().formatHex(sha256().digest(next));
      RegistryPush.blob(registry, REPO, next);
      double askedBefore = peerFetches(others.get(0));
      Pulled viaOld = pull(others.get(0), lateOwned);
      assertThat(viaOld.sha256()).isEqualTo(lateOwned);
      assertThat(viaOld.bytes()).isEqualTo(next.length);
      assertThat(metrics(late).sum("registry_proxy_blob_fetches_total", "source", "upstream"))
          .as("the late replica fetched the blob it owns")
          .isEqualTo(1);
      assertThat(peerFetches(others.get(0)))
          .as("the old replica asked the late one")
          .isEqualTo(askedBefore + 1);
      assertThat(registryGets(registry, lateOwned, "200")).isEqualTo(1);
    }
  }

  private static double peerFetches(ProxyProcess p) {
    return metrics(p).sum("registry_proxy_blob_fetches_total", "source", "peer");
  }

  /** The registry's access-log lines for GETs of {@code digest} answered {@code status}. */
  private static long registryGets(UpstreamRegistry registry, String digest, String status) {
    Pattern line =
        Pattern.compile(
            "\"GET /v2/"
                + Pattern.quote(REPO)
                + "/blobs/"
                + Pattern.quote(digest)
                + " HTTP/1\\.1\" "
                + status
                + " ");
    try {
      return Files.readAllLines(registry.logFile()).stream()
          .filter(l -> line.matcher(l).find())
          .count();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A blob whose owner among {@code members} is {@code owner}: random until one is. */
  private static byte[] ownedBy(String owner, List<String> members, int size) {
    for (long seed = 100; ; seed++) {
      byte[] candidate = random(size, seed);
      String d = "sha256:" + HexFormat.of().formatHex(sha256().digest(candidate));
      if (owner.equals(Rendezvous.owner(d, members))) {
        return candidate;
      }
    }
  }

  @Test
  void aLyingPeerIsRefusedLikeALyingUpstreamAndNothingOfItIsCached() throws Exception {
    try (LyingPeer liar = new LyingPeer(500_000)) {
      List<String> two = List.of(members.get(0), liar.hostPort());
      ProxyProcess p = replica(members.get(0), two);
      awaitHealthy(p, 2);
      byte[] blob = ownedBy(liar.hostPort(), two, 500_000);
      String digest = up.putBlob(REPO, blob);

      Pulled r = pull(p, digest);

      assertThat(r.status() == 200 && r.whole())
          .as("a whole success for the liar's bytes (%s)", r)
          .isFalse();
      assertThat(liar.blobRequests).hasValue(1);
      assertThat(blobGets(digest)).as("the upstream is not asked instead").isZero();
      CacheAssertions.assertNotCached(p.cacheDir(), digest);
      assertThat(metrics(p).sum("registry_proxy_verification_failures_total", "upstream", UP))
          .isEqualTo(1);
      assertThat(p.log()).contains("peer: ");
    }
  }

  @Test
  void theAskingReplicaHoldsItsClientsToAuthAndAccessBeforeAnyPeerIsAsked(@TempDir Path dir) {
    assumeTrue(Htpasswd.availability().available(), Htpasswd.availability().reason());
    Credentials alice = new Credentials("alice", "alice-password-1");
    Credentials bob = new Credentials("bob", "bob-password-22");
    Path htpasswd = Htpasswd.write(dir.resolve("htpasswd"), List.of(alice, bob));
    String auth =
        "auth:\n  htpasswd: \""
            + htpasswd
            + "\"\naccess:\n  - upstream: \""
            + UP
            + "\"\n    users: [\"alice\"]\n";
    List<String> two = members.subList(0, 2);
    ProxyProcess asking = replica(two.get(0), two, auth);
    ProxyProcess owner = replica(two.get(1), two, auth);
    awaitHealthy(asking, 2);
    awaitHealthy(owner, 2);
    byte[] blob = ownedBy(owner.hostPort(), two, 100_000);
    String digest = up.putBlob(REPO, blob);
    String url = asking.url() + "/v2/" + UP + "/" + REPO + "/blobs/" + digest;

    assertThat(Http.status(url)).as("anonymous").isEqualTo(401);
    assertThat(Http.status(url, "Authorization", bob.basicAuthorization()))
        .as("a user the access rules leave out")
        .isEqualTo(403);
    assertThat(peerFetches(asking)).isZero();
    assertThat(up.count(null, "/v2/" + REPO)).isZero();

    HttpResponse<byte[]> r =
        Http.tryGet(url, "Authorization", alice.basicAuthorization()).orElseThrow();
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo(blob);
    assertThat(peerFetches(asking)).as("alice's pull came from the owner").isEqualTo(1);
    assertThat(blobGets(digest)).isEqualTo(1);
  }

  @Test
  void thePeerPathRefusesRequestsWithoutTheClusterSecret() throws Exception {
    ProxyProcess p = replica(0);
    byte[] blob = random(10_000, 3);
    String digest = up.putBlob(REPO, blob);
    String path = Cluster.PATH + "v2/" + UP + "/" + REPO + "/blobs/" + digest;
    long now = System.currentTimeMillis() / 1000;

    assertThat(Http.status(p.url() + path)).isEqualTo(401);
    assertThat(Http.status(p.url() + Cluster.PING)).isEqualTo(401);
    String otherSecret =
        new PeerAuth(SECRET.replace('0', '1'), ME).sign(p.hostPort(), "GET", path, now);
    assertThat(Http.status(p.url() + path, PeerAuth.HEADER, otherSecret)).isEqualTo(401);
    String forPing = new PeerAuth(SECRET, ME).sign(p.hostPort(), "GET", Cluster.PING, now);
    assertThat(Http.status(p.url() + path, PeerAuth.HEADER, forPing))
        .as("a MAC for another path")
        .isEqualTo(401);
    assertThat(up.count(null, "/v2/" + REPO)).as("nothing was asked of the upstream").isZero();

    String forOther = new PeerAuth(SECRET, ME).sign(members.get(1), "GET", path, now);
    assertThat(Http.status(p.url() + path, PeerAuth.HEADER, forOther))
        .as("a MAC for another replica")
        .isEqualTo(401);

    String signed = new PeerAuth(SECRET, ME).sign(p.hostPort(), "GET", path, now);
    HttpResponse<byte[]> ok = Http.tryGet(p.url() + path, PeerAuth.HEADER, signed).orElseThrow();
    assertThat(ok.statusCode()).isEqualTo(200);
    assertThat(ok.body()).isEqualTo(blob);
    assertThat(Http.status(p.url() + path, PeerAuth.HEADER, signed))
        .as("the same header again")
        .isEqualTo(401);
  }
}
