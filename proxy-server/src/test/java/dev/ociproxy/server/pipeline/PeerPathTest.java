package dev.ociproxy.server.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ociproxy.core.cluster.Cluster;
import dev.ociproxy.core.cluster.ClusterOptions;
import dev.ociproxy.core.cluster.PeerAuth;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.registry.PullThrough;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The peer path answers only requests that carry the cluster secret's MAC (over the path and its
 * query, signed for this replica, each once), and only GETs of blobs and questions about tags.
 */
class PeerPathTest {
  private static final String SECRET = "0123456789abcdef0123456789abcdef";
  private static final String SELF = "127.0.0.1:1";
  private static final String OTHER = "127.0.0.1:2";
  private static final String DIGEST = "sha256:" + "ab".repeat(32);
  private static final String BLOB = "/_peer/v2/up.test/team/app/blobs/" + DIGEST;
  private static final String TAG =
      Cluster.tagTarget(
          "up.test",
          new RepositoryName("team/app"),
          new Tag("latest"),
          List.of("application/vnd.oci.image.index.v1+json", "application/json"));

  @TempDir Path dir;
  private TestMirrors mirrors;
  private Cluster cluster;
  private PeerPath path;
  private PullThrough up;

  private final AtomicBoolean warming = new AtomicBoolean();

  @BeforeEach
  void start() {
    mirrors = new TestMirrors(dir);
    up = mirrors.pullThrough("up.test", "http://127.0.0.1:1");
    cluster =
        Cluster.start(
            new ClusterOptions(List.of(), null, SELF, SECRET),
            mirrors.group(),
            NioSocketChannel.class,
            new SimpleMeterRegistry());
    path = new PeerPath(cluster, Map.of("up.test", up)::get, warming::get);
  }

  @AfterEach
  void stop() {
    cluster.close();
    mirrors.close();
  }

  private static HttpRequest request(HttpMethod method, String uri, String secret) {
    HttpRequest r = new DefaultHttpRequest(HttpVersion.HTTP_1_1, method, uri);
    if (secret != null) {
      r.headers()
          .set(
              PeerAuth.HEADER,
              new PeerAuth(secret, OTHER)
                  .sign(SELF, method.name(), uri, System.currentTimeMillis() / 1000));
    }
    return r;
  }

  private static void assertStatus(Runnable r, int status) {
    assertThatThrownBy(r::run)
        .isInstanceOfSatisfying(
            RegistryException.class, e -> assertThat(e.status()).isEqualTo(status));
  }

  @Test
  void withoutTheSecretEveryPeerRequestIsA401() {
    assertStatus(() -> path.route(request(HttpMethod.GET, BLOB, null)), 401);
    assertStatus(() -> path.route(request(HttpMethod.GET, Cluster.PING, null)), 401);
    assertStatus(() -> path.route(request(HttpMethod.GET, "/_peer/anything", null)), 401);
    assertStatus(() -> path.route(request(HttpMethod.GET, BLOB, SECRET.replace('0', 'x'))), 401);
    assertStatus(() -> path.route(request(HttpMethod.GET, TAG, null)), 401);
    assertStatus(() -> path.route(request(HttpMethod.GET, TAG, SECRET.replace('0', 'x'))), 401);
  }

  @Test
  void aTagQuestionsMacCoversItsAcceptList() {
    HttpRequest r = request(HttpMethod.GET, TAG, SECRET);
    HttpRequest other =
        new DefaultHttpRequest(
            HttpVersion.HTTP_1_1, HttpMethod.GET, TAG.substring(0, TAG.indexOf('?')));
    other.headers().set(PeerAuth.HEADER, r.headers().get(PeerAuth.HEADER));
    assertStatus(() -> path.route(other), 401);
  }

  @Test
  void withTheSecretATagQuestionNamesItsUpstreamRepositoryTagAndAcceptList() {
    PeerPath.Request r = path.route(request(HttpMethod.GET, TAG, SECRET));
    assertThat(r).isInstanceOf(PeerPath.TagQuestion.class);
    PeerPath.TagQuestion t = (PeerPath.TagQuestion) r;
    assertThat(t.upstream()).isSameAs(up);
    assertThat(t.repository().value()).isEqualTo("team/app");
    assertThat(t.tag().value()).isEqualTo("latest");
    assertThat(t.accept())
        .containsExactly("application/vnd.oci.image.index.v1+json", "application/json");
    String noAccept = "/_peer/v2/up.test/team/app/manifests/v1.2";
    PeerPath.TagQuestion plain =
        (PeerPath.TagQuestion) path.route(request(HttpMethod.GET, noAccept, SECRET));
    assertThat(plain.accept()).isEmpty();
  }

  private static HttpRequest copy(HttpRequest r) {
    HttpRequest again = new DefaultHttpRequest(HttpVersion.HTTP_1_1, r.method(), r.uri());
    again.headers().set(PeerAuth.HEADER, r.headers().get(PeerAuth.HEADER));
    return again;
  }

  @Test
  void aPeerRequestIsGoodOnceAndAFreshOneStillPasses() {
    HttpRequest r = request(HttpMethod.GET, BLOB, SECRET);
    assertThat(path.route(r)).isInstanceOf(PeerPath.Blob.class);
    assertStatus(() -> path.route(copy(r)), 401);
    assertThat(path.route(request(HttpMethod.GET, BLOB, SECRET))).isInstanceOf(PeerPath.Blob.class);
    HttpRequest tag = request(HttpMethod.GET, TAG, SECRET);
    assertThat(path.route(tag)).isInstanceOf(PeerPath.TagQuestion.class);
    assertStatus(() -> path.route(copy(tag)), 401);
  }

  @Test
  void aRequestSignedForAnotherReplicaIsA401() {
    HttpRequest r = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, BLOB);
    long now = System.currentTimeMillis() / 1000;
    r.headers().set(PeerAuth.HEADER, new PeerAuth(SECRET, SELF).sign(OTHER, "GET", BLOB, now));
    assertStatus(() -> path.route(r), 401);
  }

  @Test
  void anExpiredRequestIsA401() {
    HttpRequest r = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, BLOB);
    long then = System.currentTimeMillis() / 1000 - 120;
    r.headers().set(PeerAuth.HEADER, new PeerAuth(SECRET, OTHER).sign(SELF, "GET", BLOB, then));
    assertStatus(() -> path.route(r), 401);
  }

  @Test
  void aMacForOnePathDoesNotOpenAnother() {
    HttpRequest r = request(HttpMethod.GET, BLOB, SECRET);
    HttpRequest other =
        new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, BLOB.replace("app", "other"));
    other.headers().set(PeerAuth.HEADER, r.headers().get(PeerAuth.HEADER));
    assertStatus(() -> path.route(other), 401);
  }

  @Test
  void withTheSecretABlobPathNamesItsUpstreamRepositoryAndDigest() {
    PeerPath.Request r = path.route(request(HttpMethod.GET, BLOB, SECRET));
    assertThat(r).isInstanceOf(PeerPath.Blob.class);
    PeerPath.Blob b = (PeerPath.Blob) r;
    assertThat(b.upstream()).isSameAs(up);
    assertThat(b.repository().value()).isEqualTo("team/app");
    assertThat(b.digest()).hasToString(DIGEST);
    assertThat(path.route(request(HttpMethod.GET, Cluster.PING, SECRET)))
        .isInstanceOf(PeerPath.Ping.class);
  }

  @Test
  void whileTheStartsWarmUpRuns_thePingAnswers503_soPeersGiveThisReplicaNothingToOwnYet() {
    warming.set(true);
    assertStatus(() -> path.route(request(HttpMethod.GET, Cluster.PING, SECRET)), 503);
    assertThat(path.route(request(HttpMethod.GET, BLOB, SECRET)))
        .as("a peer that still counts this replica is served")
        .isInstanceOf(PeerPath.Blob.class);
    warming.set(false);
    assertThat(path.route(request(HttpMethod.GET, Cluster.PING, SECRET)))
        .isInstanceOf(PeerPath.Ping.class);
  }

  @Test
  void authenticatedButUnknownOrWrongRequestsAreRefused() {
    assertStatus(
        () -> path.route(request(HttpMethod.GET, BLOB.replace("up.test", "other.test"), SECRET)),
        404);
    assertStatus(
        () -> path.route(request(HttpMethod.GET, "/_peer/v2/up.test/team/app/tags/list", SECRET)),
        404);
    assertStatus(
        () ->
            path.route(
                request(HttpMethod.GET, "/_peer/v2/up.test/team/app/manifests/" + DIGEST, SECRET)),
        404);
    assertStatus(() -> path.route(request(HttpMethod.GET, BLOB + "?accept=x", SECRET)), 404);
    assertStatus(() -> path.route(request(HttpMethod.GET, TAG + "&other=1", SECRET)), 404);
    assertStatus(() -> path.route(request(HttpMethod.DELETE, BLOB, SECRET)), 405);
    assertStatus(
        () -> path.route(request(HttpMethod.GET, BLOB.replace("team/app", "Team/App"), SECRET)),
        400);
  }

  @Test
  void withoutAClusterThePeerPathIsNoPathAtAll() {
    V2Router router = new V2Router(Map.of(), null);
    assertStatus(() -> router.route(HttpMethod.GET, BLOB), 404);
  }
}
