package dev.ociproxy.it;

import static dev.ociproxy.it.ItFixtures.await;
import static dev.ociproxy.it.ItFixtures.random;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.ociproxy.core.cluster.Cluster;
import dev.ociproxy.core.cluster.PeerAuth;
import dev.ociproxy.core.cluster.Rendezvous;
import dev.ociproxy.it.support.Http;
import dev.ociproxy.it.support.Ports;
import dev.ociproxy.it.support.ProcessGuard;
import dev.ociproxy.it.support.ProxyProcess;
import dev.ociproxy.testing.HostileRegistry;
import dev.ociproxy.testing.Lie;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

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
    String me = members.get(i);
    ProxyProcess p =
        ProxyProcess.builder()
            .port(Integer.parseInt(me.substring(me.indexOf(':') + 1)))
            .upstream(UP, up.url())
            .env("CLUSTER_SECRET", SECRET)
            .extraYaml(
                "cluster:\n  peers: [\""
                    + String.join("\", \"", members)
                    + "\"]\n  advertise: \""
                    + me
                    + "\"\n  secret: \"${CLUSTER_SECRET}\"\n")
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
  }

  @Test
  void theOwnerKilledMidPullLeavesTheOthersClientsWholeAndALateReplicaJoins() throws Exception {
    List<ProxyProcess> three = List.of(replica(0), replica(1), replica(2));
    three.forEach(p -> awaitHealthy(p, 3));
    byte[] blob = random(3_000, 7);
    String digest = up.putBlob(REPO, blob);
    up.lie(digest, Lie.trickle(Duration.ofMillis(1))); // about 3 s of body: time to kill mid-way
    String owner = Rendezvous.owner(digest, members.subList(0, 3));
    ProxyProcess ownerProcess =
        three.stream().filter(p -> p.hostPort().equals(owner)).findFirst().orElseThrow();
    List<ProxyProcess> others = three.stream().filter(p -> p != ownerProcess).toList();

    List<Future<List<Pulled>>> clients = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      ProxyProcess via = others.get(i % 2);
      clients.add(pool.submit(() -> pullRetrying(via, digest)));
    }
    await(
        "the owner streaming to its peers",
        Duration.ofSeconds(30),
        () -> blobGets(digest) == 1 && others.stream().allMatch(p -> peerFetches(p) == 1));
    Thread.sleep(800); // mid-body: the trickle takes about 3 s
    ownerProcess.kill9();

    for (Future<List<Pulled>> f : clients) {
      List<Pulled> attempts = f.get(120, TimeUnit.SECONDS);
      System.out.printf("ClusterIT: a client of a surviving replica: %s%n", attempts);
      Pulled last = attempts.get(attempts.size() - 1);
      assertThat(last.whole()).as("attempts %s", attempts).isTrue();
      assertThat(last.sha256()).isEqualTo(digest);
      for (Pulled a : attempts) {
        // A cut transfer is allowed (the client retries); a whole 200 with other bytes never is.
        if (a.whole() && a.status() == 200) {
          assertThat(a.sha256()).isEqualTo(digest);
        }
      }
    }

    ProxyProcess late = replica(3);
    awaitHealthy(late, 3);
    others.forEach(p -> awaitHealthy(p, 3));
    String lateOwned = null;
    byte[] next = null;
    for (int seed = 100; lateOwned == null; seed++) {
      byte[] candidate = random(200_000, seed);
      String d = "sha256:" + HexFormat.of().formatHex(sha256().digest(candidate));
      if (Rendezvous.owner(
              d, List.of(others.get(0).hostPort(), others.get(1).hostPort(), late.hostPort()))
          .equals(late.hostPort())) {
        lateOwned = up.putBlob(REPO, candidate);
        next = candidate;
      }
    }
    Pulled viaOld = pull(others.get(0), lateOwned);
    assertThat(viaOld.sha256()).isEqualTo(lateOwned);
    assertThat(viaOld.bytes()).isEqualTo(next.length);
    assertThat(metrics(late).sum("registry_proxy_blob_fetches_total", "source", "upstream"))
        .as("the late replica fetched the blob it owns")
        .isEqualTo(1);
    assertThat(peerFetches(others.get(0))).as("the old replica asked the late one").isEqualTo(2);
    assertThat(blobGets(lateOwned)).isEqualTo(1);
  }

  private static double peerFetches(ProxyProcess p) {
    return metrics(p).sum("registry_proxy_blob_fetches_total", "source", "peer");
  }

  /** Pulls until the body is whole, as containerd and Docker retry a broken layer download. */
  private static List<Pulled> pullRetrying(ProxyProcess p, String digest) {
    List<Pulled> attempts = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      Pulled r = pull(p, digest);
      attempts.add(r);
      if (r.whole() && r.status() == 200) {
        break;
      }
    }
    return attempts;
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
    String otherSecret = new PeerAuth(SECRET.replace('0', '1')).sign("GET", path, now);
    assertThat(Http.status(p.url() + path, PeerAuth.HEADER, otherSecret)).isEqualTo(401);
    String forPing = new PeerAuth(SECRET).sign("GET", Cluster.PING, now);
    assertThat(Http.status(p.url() + path, PeerAuth.HEADER, forPing))
        .as("a MAC for another path")
        .isEqualTo(401);
    assertThat(up.count(null, "/v2/" + REPO)).as("nothing was asked of the upstream").isZero();

    String signed = new PeerAuth(SECRET).sign("GET", path, now);
    HttpResponse<byte[]> ok = Http.tryGet(p.url() + path, PeerAuth.HEADER, signed).orElseThrow();
    assertThat(ok.statusCode()).isEqualTo(200);
    assertThat(ok.body()).isEqualTo(blob);
  }
}
