package dev.ociproxy.it;

import static dev.ociproxy.it.ItFixtures.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.core.cluster.Cluster;
import dev.ociproxy.core.cluster.PeerAuth;
import dev.ociproxy.core.cluster.Rendezvous;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.it.support.Http;
import dev.ociproxy.it.support.Ports;
import dev.ociproxy.it.support.ProcessGuard;
import dev.ociproxy.it.support.ProxyProcess;
import dev.ociproxy.it.support.RegistryPush;
import dev.ociproxy.it.support.UpstreamRegistry;
import dev.ociproxy.testing.OciJson;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
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

/**
 * Tag revalidation coalesced across the fleet: three real proxy processes in one {@code cluster},
 * each with its own cache, in front of Debian's docker-registry, with a short {@code tagTtl}. Each
 * period, clients pull the tag through all three replicas at once; only the tag's owner asks the
 * upstream about it (one manifest-by-tag request per period, in the registry's access log), the
 * others ask the owner. A re-pushed tag is answered with its new digest by every replica; with the
 * upstream down every replica serves the last verified manifest marked stale; with the owner gone
 * the others revalidate with the upstream themselves.
 */
@ExtendWith(ProcessGuard.class)
class ClusterTagsIT {
  private static final String UP = "real.test";
  private static final String REPO = "fleet/tags";
  private static final String TAG = "latest";
  private static final String SECRET = "it-cluster-secret-0123456789abcdef";
  private static final Duration TTL = Duration.ofSeconds(4);
  private static final int CLIENTS_PER_REPLICA = 3;

  private final ExecutorService pool = Executors.newCachedThreadPool();
  private final List<ProxyProcess> replicas = new ArrayList<>();
  private final List<String> members = new ArrayList<>();
  private UpstreamRegistry registry;

  @BeforeEach
  void start() {
    ProxyProcess.availability().assumeAvailable();
    UpstreamRegistry.availability().assumeAvailable();
    registry = UpstreamRegistry.startOpen();
    for (int i = 0; i < 3; i++) {
      members.add("127.0.0.1:" + Ports.free());
    }
    for (String me : members) {
      replicas.add(
          ProxyProcess.builder()
              .port(Integer.parseInt(me.substring(me.indexOf(':') + 1)))
              .upstream(UP, registry.url())
              .cacheOption("tagTtl", TTL.toSeconds() + "s")
              .env("CLUSTER_SECRET", SECRET)
              .extraYaml(
                  "cluster:\n  peers: [\""
                      + String.join("\", \"", members)
                      + "\"]\n  advertise: \""
                      + me
                      + "\"\n  secret: \"${CLUSTER_SECRET}\"\n")
              .start());
    }
    for (ProxyProcess p : replicas) {
      await(
          p.hostPort() + " sees 3 healthy replicas",
          Duration.ofSeconds(30),
          () -> metrics(p).sum("registry_proxy_cluster_members", "state", "healthy") == 3);
    }
  }

  @AfterEach
  void stop() {
    pool.shutdownNow();
    replicas.forEach(ProxyProcess::close);
    if (registry != null) {
      registry.close();
    }
  }

  @Test
  void theFleetAsksTheUpstreamAboutATagOncePerPeriodAndEveryReplicaSeesItMove() throws Exception {
    String v1 = pushImage("one");
    ProxyProcess owner = ownerOfTag();

    // Cold: the owner fetches the tag, the others ask it and fetch the manifest by digest.
    assertEveryReplicaAnswers(replicas, v1);
    awaitTagRequests(0, 1);

    int periods = 2;
    for (int i = 1; i <= periods; i++) {
      Thread.sleep(TTL.toMillis() + 500); // every replica's record is stale now
      assertEveryReplicaAnswers(replicas, v1);
      awaitTagRequests(i, 1);
    }

    String v2 = pushImage("two");
    Thread.sleep(TTL.toMillis() + 500);
    assertEveryReplicaAnswers(replicas, v2);
    awaitTagRequests(periods + 1, 2); // the owner's HEAD saw it move: one GET of the tag

    for (ProxyProcess p : replicas) {
      PrometheusText m = metrics(p);
      double upstream = m.sum("registry_proxy_tag_revalidations_total", "source", "upstream");
      double peer = m.sum("registry_proxy_tag_revalidations_total", "source", "peer");
      System.out.printf(
          "ClusterTagsIT: %s%s revalidated the tag with the upstream %.0f times, asked the owner"
              + " %.0f times%n",
          p.hostPort(), p == owner ? " (owner)" : "", upstream, peer);
      assertThat(upstream)
          .as("%s's revalidations with the upstream", p.hostPort())
          .isEqualTo(p == owner ? periods + 2 : 0);
      assertThat(m.sum("registry_proxy_tag_peer_fallbacks_total", "upstream", UP)).isZero();
    }
    assertThat(owner.log()).contains("GET /_peer/v2/" + UP + "/" + REPO + "/manifests/" + TAG);

    // The question is the owner's only with the cluster secret's MAC (over path and query).
    String question =
        Cluster.tagTarget(
            UP, new RepositoryName(REPO), new Tag(TAG), List.of(OciJson.IMAGE_MANIFEST));
    assertThat(Http.status(owner.url() + question)).isEqualTo(401);
    String mac =
        new PeerAuth(SECRET, "127.0.0.1:1")
            .sign(owner.hostPort(), "GET", question, System.currentTimeMillis() / 1000);
    HttpResponse<byte[]> answer =
        Http.tryGet(owner.url() + question, PeerAuth.HEADER, mac).orElseThrow();
    assertThat(answer.statusCode()).isEqualTo(200);
    assertThat(new String(answer.body(), StandardCharsets.UTF_8)).contains(v2);

    // The upstream down and every record stale: each replica serves its last verified manifest
    // marked stale, as a replica alone would (the owner answers its peers' questions an error).
    registry.stop();
    Thread.sleep(TTL.toMillis() + 500);
    for (ProxyProcess p : replicas) {
      HttpResponse<byte[]> r = Http.getManifest(tagUrl(p));
      assertThat(r.statusCode()).as("%s", p.hostPort()).isEqualTo(200);
      assertThat(OciJson.sha256(r.body())).isEqualTo(v2);
      assertThat(r.headers().firstValue("Warning"))
          .as("%s", p.hostPort())
          .hasValueSatisfying(w -> assertThat(w).startsWith("110 "));
    }
  }

  @Test
  void withTheOwnerStoppedTheOthersStillRevalidateWithTheUpstream() throws Exception {
    String v1 = pushImage("one");
    assertEveryReplicaAnswers(replicas, v1);
    ProxyProcess owner = ownerOfTag();
    List<ProxyProcess> others = replicas.stream().filter(p -> p != owner).toList();

    Thread.sleep(TTL.toMillis() + 500); // stale everywhere
    String v2 = pushImage("two");
    owner.kill9(); // the others still count it a member for up to a health check or two
    assertEveryReplicaAnswers(others, v2);

    double fallbacks = 0;
    double revalidations = 0;
    for (ProxyProcess p : others) {
      PrometheusText m = metrics(p);
      double fellBack = m.sum("registry_proxy_tag_peer_fallbacks_total", "upstream", UP);
      if (fellBack > 0) {
        assertThat(p.log()).contains("the owning replica " + owner.hostPort() + " was no help");
      }
      fallbacks += fellBack;
      revalidations += m.sum("registry_proxy_tag_revalidations_total", "source", "upstream");
    }
    // Who asks the upstream depends on whether a survivor had noticed the owner's death: each
    // survivor after asking the dead owner in vain, or the tag's next owner for both.
    System.out.printf(
        "ClusterTagsIT: with the owner killed, fallbacks %.0f, upstream revalidations %.0f%n",
        fallbacks, revalidations);
    assertThat(revalidations).isBetween(1.0, 2.0);
    assertThat(tagRequests("GET"))
        .as("GETs of the tag: cold, then after the move")
        .isGreaterThan(1);
  }

  /** Pushes a one-layer image tagged {@link #TAG}; returns its manifest's digest. */
  private String pushImage(String content) throws Exception {
    byte[] config = OciJson.config(REPO + ":" + content);
    byte[] layer = ("layer " + content).getBytes(StandardCharsets.UTF_8);
    RegistryPush.blob(registry, REPO, config);
    RegistryPush.blob(registry, REPO, layer);
    byte[] manifest =
        OciJson.manifest(OciJson.descriptor(OciJson.IMAGE_CONFIG, config), OciJson.layer(layer));
    RegistryPush.manifest(registry, REPO, TAG, OciJson.IMAGE_MANIFEST, manifest);
    return OciJson.sha256(manifest);
  }

  private ProxyProcess ownerOfTag() {
    String owner = Rendezvous.owner(Rendezvous.tagKey(UP, REPO, TAG), members);
    return replicas.stream().filter(p -> p.hostPort().equals(owner)).findFirst().orElseThrow();
  }

  /** Clients pull the tag through every one of {@code via} at once; each gets {@code digest}. */
  private void assertEveryReplicaAnswers(List<ProxyProcess> via, String digest) throws Exception {
    List<Future<HttpResponse<byte[]>>> pulls = new ArrayList<>();
    for (int i = 0; i < CLIENTS_PER_REPLICA; i++) {
      for (ProxyProcess p : via) {
        pulls.add(pool.submit(() -> Http.getManifest(tagUrl(p))));
      }
    }
    for (Future<HttpResponse<byte[]>> f : pulls) {
      HttpResponse<byte[]> r = f.get(60, TimeUnit.SECONDS);
      assertThat(r.statusCode()).as("%s", r.uri()).isEqualTo(200);
      assertThat(OciJson.sha256(r.body())).as("%s", r.uri()).isEqualTo(digest);
      assertThat(r.headers().firstValue("Docker-Content-Digest")).hasValue(digest);
    }
  }

  private static String tagUrl(ProxyProcess p) {
    return p.url() + "/v2/" + UP + "/" + REPO + "/manifests/" + TAG;
  }

  /** Waits until the registry logged {@code heads} HEADs and {@code gets} GETs of the tag. */
  private void awaitTagRequests(int heads, int gets) throws InterruptedException {
    await(
        "the registry logged " + heads + " HEADs and " + gets + " GETs of the tag",
        Duration.ofSeconds(10),
        () -> tagRequests("HEAD") >= heads && tagRequests("GET") >= gets);
    Thread.sleep(300); // anything more would have been logged by now
    assertThat(tagRequests("HEAD")).as("HEADs of the tag (revalidations)").isEqualTo(heads);
    assertThat(tagRequests("GET")).as("GETs of the tag").isEqualTo(gets);
  }

  /** The proxies' requests of the tag (not by digest) in the registry's access log. */
  private long tagRequests(String method) {
    Pattern line =
        Pattern.compile(
            "\""
                + method
                + " /v2/"
                + Pattern.quote(REPO)
                + "/manifests/"
                + TAG
                + " HTTP/1\\.1\" \\d+ .*\"registry-proxy/");
    try {
      return Files.readAllLines(registry.logFile()).stream()
          .filter(l -> line.matcher(l).find())
          .count();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static PrometheusText metrics(ProxyProcess p) {
    return PrometheusText.parse(new String(Http.tryGet(p.url() + "/metrics").orElseThrow().body()));
  }
}
