package dev.ociproxy.server.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ociproxy.core.airgap.DriftLog;
import dev.ociproxy.core.airgap.Pins;
import dev.ociproxy.core.airgap.WarmJobs;
import dev.ociproxy.core.airgap.Warmer;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.registry.Registry;
import dev.ociproxy.server.auth.AccessPolicy;
import dev.ociproxy.server.auth.AdminToken;
import dev.ociproxy.server.config.ProxyConfig;
import dev.ociproxy.server.health.Readiness;
import dev.ociproxy.server.pipeline.ProxyChannelInitializer;
import dev.ociproxy.server.pipeline.TestMirrors;
import dev.ociproxy.server.pipeline.Upstream;
import dev.ociproxy.testing.CosignSignatures;
import dev.ociproxy.testing.HostileRegistry;
import dev.ociproxy.testing.OciJson;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * POST /admin/warm and GET /admin/drift over the admin listener's assembled pipeline (raw HTTP in
 * and out of an EmbeddedChannel), and their absence from the client-facing listener.
 */
class AdminActionsTest {
  private static final String UP = "registry.example.com";
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path cache;
  HostileRegistry up;
  TestMirrors mirrors;
  Upstream upstream;
  Readiness readiness;
  DriftLog drift = new DriftLog(new SimpleMeterRegistry());
  final AtomicInteger warmerLookups = new AtomicInteger();

  @BeforeEach
  void start() throws Exception {
    up = HostileRegistry.start();
    mirrors = new TestMirrors(cache);
    upstream = mirrors.upstream(UP, up.url());
    Files.createDirectories(cache.resolve("tmp"));
    readiness = new Readiness(cache, 1, () -> false);
  }

  @AfterEach
  void stop() {
    readiness.close();
    mirrors.close();
    up.close();
  }

  private AdminActions actions() {
    return actions(null);
  }

  private AdminActions actions(AdminToken token) {
    Map<String, Registry> byName = Map.of(UP, upstream.registry());
    Warmer warmer =
        new Warmer(
            name -> {
              warmerLookups.incrementAndGet();
              return byName.get(name);
            },
            2);
    return new AdminActions(warmer, drift, List.of(UP), UP, token, new WarmJobs());
  }

  /** The admin listener's pipeline (codec, aggregator, actions, metrics and health). */
  private EmbeddedChannel adminChannel() {
    return adminChannel(actions());
  }

  private EmbeddedChannel adminChannel(AdminActions actions) {
    EmbeddedChannel ch = new EmbeddedChannel();
    new AdminChannelInitializer(new AdminHandler(() -> "", readiness, true), actions, null)
        .addHandlers(ch.pipeline());
    return ch;
  }

  private record Response(int status, String head, String body) {
    JsonNode json() throws Exception {
      return JSON.readTree(body);
    }
  }

  private static String post(String path, String body) {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    return "POST "
        + path
        + " HTTP/1.1\r\nHost: admin\r\nContent-Type: application/json\r\nContent-Length: "
        + b.length
        + "\r\n\r\n"
        + body;
  }

  private static String get(String path) {
    return "GET " + path + " HTTP/1.1\r\nHost: admin\r\n\r\n";
  }

  /** Sends one raw request and waits (up to 20 s) for one whole response; releases what it read. */
  private static Response exchange(EmbeddedChannel ch, String request) {
    ch.writeInbound(Unpooled.copiedBuffer(request, StandardCharsets.UTF_8));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    // The channel is not thread-safe: poll it from the test's own thread.
    return await("a whole response")
        .atMost(Duration.ofSeconds(20))
        .pollInterval(Duration.ofMillis(10))
        .pollInSameThread()
        .until(
            () -> {
              ch.runPendingTasks();
              for (Object o; (o = ch.readOutbound()) != null; ) {
                ByteBuf b = (ByteBuf) o;
                try {
                  byte[] bytes = new byte[b.readableBytes()];
                  b.readBytes(bytes);
                  out.writeBytes(bytes);
                } finally {
                  b.release();
                }
              }
              return parse(out.toString(StandardCharsets.UTF_8));
            },
            Objects::nonNull);
  }

  private static Response parse(String raw) {
    int headEnd = raw.indexOf("\r\n\r\n");
    if (headEnd < 0) {
      return null;
    }
    String head = raw.substring(0, headEnd);
    var length = java.util.regex.Pattern.compile("(?im)^content-length: (\\d+)$").matcher(head);
    int n = length.find() ? Integer.parseInt(length.group(1)) : 0;
    String body = raw.substring(headEnd + 4);
    if (body.getBytes(StandardCharsets.UTF_8).length < n) {
      return null;
    }
    return new Response(Integer.parseInt(head.substring(9, 12)), head, body);
  }

  private static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  @Test
  void warm_fetchesEveryBlobOfTheImage_andAnswers200WithTheReport() throws Exception {
    HostileRegistry.Image img =
        up.putImage("test/hello", "v1", random(100_000, 1), random(50_000, 2));
    EmbeddedChannel ch = adminChannel();

    Response r =
        exchange(
            ch,
            post(
                "/admin/warm",
                "{\"refs\": [\"" + UP + "/test/hello:v1\"], \"platforms\": [\"linux/amd64\"]}"));

    assertThat(r.status()).as(r.body()).isEqualTo(200);
    assertThat(r.head()).containsIgnoringCase("content-type: application/json");
    JsonNode report = r.json();
    assertThat(report.path("ok").asBoolean()).isTrue();
    assertThat(report.path("complete").asInt()).isEqualTo(1);
    assertThat(report.path("blobs").path("done").asInt()).isEqualTo(3); // config + 2 layers
    assertThat(report.path("blobs").path("total").asInt()).isEqualTo(3);
    assertThat(report.path("bytes").path("done").asLong())
        .isEqualTo(report.path("bytes").path("total").asLong())
        .isGreaterThan(150_000);
    JsonNode item = report.path("results").get(0);
    assertThat(item.path("ref").asText()).isEqualTo(UP + "/test/hello:v1");
    assertThat(item.path("digest").asText()).isEqualTo(img.manifestDigest());
    assertThat(item.path("blobsFetched").asInt()).isEqualTo(3);
    assertThat(item.path("problems")).isEmpty();
    for (String d : img.layerDigests()) {
      String hex = d.substring("sha256:".length());
      assertThat(cache.resolve("blobs/sha256").resolve(hex.substring(0, 2)).resolve(hex)).exists();
    }
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }

  @Test
  void warmWithReferrers_takesTheImagesVerifiedReferrersAlong_andCountsThem() throws Exception {
    HostileRegistry.Image img = up.putImage("test/hello", "v1", random(10_000, 1));
    up.putBlob("test/hello", "{}".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    byte[] sbom =
        OciJson.artifact(
            "application/spdx+json",
            "application/vnd.oci.empty.v1+json",
            img.manifestDigest(),
            "sbom");
    up.putManifest("test/hello", OciJson.IMAGE_MANIFEST, sbom);
    EmbeddedChannel ch = adminChannel();

    Response r =
        exchange(
            ch,
            post(
                "/admin/warm",
                "{\"refs\": [\""
                    + UP
                    + "/test/hello:v1\"], \"referrers\": true,"
                    + " \"artifactTypes\": [\"application/spdx+json\"]}"));

    assertThat(r.status()).as(r.body()).isEqualTo(200);
    assertThat(r.json().path("results").get(0).path("referrers").asInt()).isEqualTo(1);
    String hex = OciJson.sha256(sbom).substring("sha256:".length());
    assertThat(cache.resolve("manifests/sha256").resolve(hex.substring(0, 2)).resolve(hex))
        .exists();
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }

  @Test
  void warmWithSignatures_takesTheImagesCosignSignatureAlong_andCountsIt() throws Exception {
    HostileRegistry.Image img = up.putImage("test/hello", "v1", random(10_000, 2));
    CosignSignatures.Layer signed =
        CosignSignatures.Layer.signed(
            CosignSignatures.ecKey().getPrivate(),
            CosignSignatures.payload(UP + "/test/hello:v1", img.manifestDigest()));
    up.putBlob("test/hello", CosignSignatures.signatureConfig());
    up.putBlob("test/hello", signed.payload());
    byte[] signature = CosignSignatures.signatureManifest(signed);
    up.putManifest(
        "test/hello",
        CosignSignatures.signatureTag(img.manifestDigest()),
        OciJson.IMAGE_MANIFEST,
        signature);
    EmbeddedChannel ch = adminChannel();

    Response r =
        exchange(
            ch,
            post(
                "/admin/warm", "{\"refs\": [\"" + UP + "/test/hello:v1\"], \"signatures\": true}"));

    assertThat(r.status()).as(r.body()).isEqualTo(200);
    assertThat(r.json().path("results").get(0).path("signatures").asInt()).isEqualTo(1);
    String hex = OciJson.sha256(signature).substring("sha256:".length());
    assertThat(cache.resolve("manifests/sha256").resolve(hex.substring(0, 2)).resolve(hex))
        .exists();
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }

  @Test
  void warmOfAMissingTag_answers502_withTheProblemInTheReport() throws Exception {
    EmbeddedChannel ch = adminChannel();

    Response r = exchange(ch, post("/admin/warm", "{\"refs\": [\"test/nothing:v1\"]}"));

    assertThat(r.status()).isEqualTo(502);
    JsonNode item = r.json().path("results").get(0);
    assertThat(r.json().path("ok").asBoolean()).isFalse();
    assertThat(item.path("ref").asText()).isEqualTo(UP + "/test/nothing:v1");
    assertThat(item.path("ok").asBoolean()).isFalse();
    assertThat(item.path("problems").get(0).asText()).contains("MANIFEST_UNKNOWN");
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }

  @ParameterizedTest(name = "{1}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
      {"refs": [                                                  | malformed JSON
      {"refs": ["test/a:v1"]} trailing                            | malformed JSON
      ''                                                          | empty body
      ["test/a:v1"]                                               | body: a JSON array
      {"refs": []}                                                | refs: missing or empty
      {"platforms": ["linux/amd64"]}                              | refs: missing or empty
      {"refs": "test/a:v1"}                                       | refs: a JSON string (expected: an array of strings)
      {"refs": [42]}                                              | refs[0]: 42 (expected: a string)
      {"refs": ["test/a:v1"], "platform": ["linux/amd64"]}        | unknown field 'platform' (expected: refs, platforms, referrers
      {"refs": ["test/a:v1"], "referrers": "yes"}                 | referrers: a JSON string (expected: true or false)
      {"refs": ["test/a:v1"], "signatures": 1}                    | signatures: a JSON number (expected: true or false)
      {"refs": ["test/a:v1"], "artifactTypes": ["a/b"]}           | artifactTypes: filters the referrers
      {"refs": ["test/a:v1"], "refs": ["test/b:v1"]}              | malformed JSON: Duplicate field 'refs'
      {"refs": ["other.example.com/test/a:v1"]}                   | unknown upstream 'other.example.com'
      {"refs": ["test/UPPER:v1"]}                                 | reference 'test/UPPER:v1'
      {"refs": ["test/a@sha256:abc"]}                             | reference 'test/a@sha256:abc'
      {"refs": ["test/a:v1"], "platforms": ["linux"]}             | platform: 'linux' (expected os/architecture[/variant]
      """)
  void badBody_is400WithAMessageNamingTheProblem_andWarmsNothing(String body, String message)
      throws Exception {
    EmbeddedChannel ch = adminChannel();

    Response r = exchange(ch, post("/admin/warm", body));

    assertThat(r.status()).as(r.body()).isEqualTo(400);
    assertThat(r.json().path("error").asText()).contains(message);
    assertThat(warmerLookups).hasValue(0);
    assertThat(up.requests()).isEmpty();
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }

  @Test
  void withAnAdminToken_actionsWithoutItAre401AndRunNothing_whileProbesStayOpen() throws Exception {
    HostileRegistry.Image img = up.putImage("test/hello", "v1", random(10_000, 3));
    String token = "0123456789abcdef-admin";
    EmbeddedChannel ch = adminChannel(actions(new AdminToken(token)));
    String warm = post("/admin/warm", "{\"refs\": [\"" + UP + "/test/hello:v1\"]}");

    Response none = exchange(ch, warm);
    Response wrong =
        exchange(
            ch,
            warm.replace(
                "Host: admin\r\n",
                "Host: admin\r\nAuthorization: Bearer wrong-token-0123456789\r\n"));
    Response drift = exchange(ch, get("/admin/drift"));

    for (Response r : List.of(none, wrong, drift)) {
      assertThat(r.status()).as(r.body()).isEqualTo(401);
      assertThat(r.head()).containsIgnoringCase("www-authenticate: Bearer");
    }
    assertThat(warmerLookups).hasValue(0);
    assertThat(up.requests()).isEmpty();
    assertThat(exchange(ch, get("/healthz")).status()).isEqualTo(200);

    Response right =
        exchange(
            ch,
            warm.replace(
                "Host: admin\r\n", "Host: admin\r\nAuthorization: Bearer " + token + "\r\n"));

    assertThat(right.status()).as(right.body()).isEqualTo(200);
    assertThat(right.json().path("results").get(0).path("digest").asText())
        .isEqualTo(img.manifestDigest());
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }

  @Test
  void bodyOver64KiB_is413_andWarmsNothing() throws Exception {
    EmbeddedChannel ch = adminChannel();
    String huge = "{\"refs\": [\"" + "a".repeat(AdminActions.MAX_BODY_BYTES) + "\"]}";

    Response r = exchange(ch, post("/admin/warm", huge));

    assertThat(r.status()).isEqualTo(413);
    assertThat(warmerLookups).hasValue(0);
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }

  @Test
  void warmWithGet_is405_namingPost() throws Exception {
    EmbeddedChannel ch = adminChannel();

    Response r = exchange(ch, get("/admin/warm"));

    assertThat(r.status()).isEqualTo(405);
    assertThat(r.head()).containsIgnoringCase("allow: POST");
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }

  @Test
  void drift_listsTheDriftLogAsJson() throws Exception {
    EmbeddedChannel ch = adminChannel();
    assertThat(exchange(ch, get("/admin/drift")).json().path("drifted").asInt()).isZero();
    Digest pinned = Digest.parse("sha256:" + "a".repeat(64));
    Digest moved = Digest.parse("sha256:" + "b".repeat(64));
    drift.observe(new Pins.Key(UP, new RepositoryName("test/app"), new Tag("v1")), pinned, moved);

    Response r = exchange(ch, get("/admin/drift"));

    assertThat(r.status()).isEqualTo(200);
    JsonNode d = r.json().path("drifts").get(0);
    assertThat(r.json().path("drifted").asInt()).isEqualTo(1);
    assertThat(d.path("tag").asText()).isEqualTo(UP + "/test/app:v1");
    assertThat(d.path("pinned").asText()).isEqualTo(pinned.toString());
    assertThat(d.path("upstream").asText()).isEqualTo(moved.toString());
    assertThat(d.path("since").asText()).isNotEmpty();
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }

  @Test
  void unknownAdminPath_is404_andHealthStillAnswersOnTheAdminListener() throws Exception {
    EmbeddedChannel ch = adminChannel();

    Response unknown = exchange(ch, get("/admin/nope"));
    Response health = exchange(ch, get("/healthz"));

    assertThat(unknown.status()).isEqualTo(404);
    assertThat(unknown.json().path("error").asText()).contains("POST /admin/warm");
    assertThat(health.status()).isEqualTo(200);
    assertThat(health.body()).isEqualTo("ok\n");
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }

  @Test
  void onTheClientListener_adminWarmIsAnUnknownRegistryPath_andWarmsNothing() throws Exception {
    up.putImage("test/hello", "v1", random(1_000, 3));
    NioEventLoopGroup group = new NioEventLoopGroup(1);
    try {
      // The client pipeline with metrics and health on it, as when admin.listen is not set.
      Channel server =
          new ServerBootstrap()
              .group(group)
              .channel(NioServerSocketChannel.class)
              .childHandler(
                  new ProxyChannelInitializer(
                      ProxyConfig.Limits.defaults(),
                      Map.of(UP, upstream),
                      upstream,
                      null,
                      AccessPolicy.open(),
                      new ProxyChannelInitializer.Extras(
                          null, new AdminHandler(() -> "", readiness, true), null, null)))
              .bind("127.0.0.1", 0)
              .syncUninterruptibly()
              .channel();
      InetSocketAddress a = (InetSocketAddress) server.localAddress();
      String raw;
      try (Socket s = new Socket(a.getAddress(), a.getPort())) {
        s.setSoTimeout(10_000);
        s.getOutputStream()
            .write(
                (post("/admin/warm", "{\"refs\": [\"test/hello:v1\"]}")
                        .replace("Host: admin\r\n", "Host: admin\r\nConnection: close\r\n"))
                    .getBytes(StandardCharsets.UTF_8));
        InputStream in = s.getInputStream();
        raw = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      } finally {
        server.close().syncUninterruptibly();
      }
      Response r = parse(raw);

      assertThat(r).as(raw).isNotNull();
      assertThat(r.status()).isEqualTo(404);
      assertThat(r.json().path("errors").get(0).path("code").asText()).isEqualTo("NAME_UNKNOWN");
      assertThat(up.requests()).isEmpty();
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }
}
