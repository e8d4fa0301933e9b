package dev.ociproxy.server.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.registry.MirrorOptions;
import dev.ociproxy.core.shared.RecordMac;
import dev.ociproxy.core.shared.S3ObjectStore;
import dev.ociproxy.core.shared.S3Options;
import dev.ociproxy.core.shared.SharedStore;
import dev.ociproxy.core.upstream.RequestLimits;
import dev.ociproxy.core.upstream.UpstreamOptions;
import dev.ociproxy.core.wiring.Upstreams;
import dev.ociproxy.server.auth.AccessPolicy;
import dev.ociproxy.server.config.ProxyConfig;
import dev.ociproxy.testing.HostileRegistry;
import dev.ociproxy.testing.RawHttpClient;
import dev.ociproxy.testing.S3Server;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * {@code storage.s3.redirect} through the assembled client pipeline on a socket, over a real S3 API
 * (s3proxy checking signatures) and an upstream: a whole GET of a committed blob is a 307 to a
 * presigned URL that gives its bytes to a client with no credential; HEAD, Range and a cold blob
 * are answered here; credentials that would follow the redirect to the store keep it from being
 * sent.
 */
class StoreRedirectsTest {
  private static final String BUCKET = "redirects";
  private static final String SECRET = "store-redirects-test-secret-0123456789";

  @TempDir Path cache;
  private final S3Server s3 = S3Server.start(BUCKET);
  private final HostileRegistry up = HostileRegistry.start();
  private final NioEventLoopGroup group = new NioEventLoopGroup(1);
  private final ListAppender<ILoggingEvent> lines = new ListAppender<>();
  private final Logger access = (Logger) LoggerFactory.getLogger("access");
  private ContentStore store;
  private SharedStore shared;
  private Upstreams upstreams;
  private Channel server;

  @BeforeEach
  void start() {
    lines.start();
    access.addAppender(lines);
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    store = new ContentStore(cache).open();
    shared =
        new SharedStore(
            new S3ObjectStore(
                new S3Options(
                    s3.endpoint(),
                    S3Server.REGION,
                    BUCKET,
                    "",
                    true,
                    S3Server.ACCESS_KEY,
                    S3Server.SECRET_KEY,
                    true,
                    SECRET)),
            new RecordMac(SECRET),
            store,
            meters,
            MirrorOptions.DEFAULT_MANIFEST_MAX_BYTES);
    upstreams =
        Upstreams.wire(
            new Upstreams.Shared(
                group, NioSocketChannel.class, store, meters, Integer.MAX_VALUE, shared),
            List.of(
                new Upstreams.Spec(
                    UpstreamOptions.anonymous("up.test", URI.create(up.url())),
                    MirrorOptions.defaults(),
                    true,
                    RequestLimits.unlimited())));
    Upstream mirror = new Upstream(upstreams.registries().get("up.test"), false);
    server =
        new ServerBootstrap()
            .group(group)
            .channel(NioServerSocketChannel.class)
            .childHandler(
                new ProxyChannelInitializer(
                    ProxyConfig.Limits.defaults(),
                    Map.of("up.test", mirror),
                    mirror,
                    null,
                    AccessPolicy.open()))
            .bind("127.0.0.1", 0)
            .syncUninterruptibly()
            .channel();
  }

  @AfterEach
  void stop() {
    access.detachAppender(lines);
    server.close().syncUninterruptibly();
    upstreams.close();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    shared.close();
    store.close();
    up.close();
    s3.close();
  }

  @Test
  void aWholeGetOfACommittedBlobIs307ToAPresignedUrlThatGivesItsBytesToAClientWithNoCredential()
      throws Exception {
    byte[] layer = random(1 << 20, 1);
    String digest = up.putImage("team/app", "v1", layer).layerDigests().get(0);
    String path = "/v2/team/app/blobs/" + digest;
    RawHttpClient.Response cold = get("127.0.0.1", path);
    assertThat(cold.status()).as("not in the bucket yet: served here").isEqualTo(200);
    assertThat(cold.body()).isEqualTo(layer);

    RawHttpClient.Response r = awaitRedirect("127.0.0.1", path);
    assertThat(r.header("Docker-Content-Digest")).contains(digest);
    assertThat(r.header("Content-Length")).contains("0");
    assertThat(r.header("Cache-Control")).contains("no-store");
    assertThat(r.body()).isEmpty();
    URI location = URI.create(r.header("Location").orElseThrow());
    assertThat(location.getScheme() + "://" + location.getRawAuthority())
        .isEqualTo(s3.endpoint().toString());
    HttpResponse<byte[]> fetched =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(location).build(), HttpResponse.BodyHandlers.ofByteArray());
    assertThat(fetched.statusCode()).isEqualTo(200);
    assertThat(fetched.body()).isEqualTo(layer);
    assertThat(up.count("GET", "/v2/team/app/blobs/")).isEqualTo(1);

    try (RawHttpClient c = client("127.0.0.1")) {
      RawHttpClient.Response head = c.head(path);
      assertThat(head.status()).as("HEAD is answered here").isEqualTo(200);
      assertThat(head.header("Content-Length")).contains(String.valueOf(layer.length));
      assertThat(head.header("Location")).isEmpty();
      RawHttpClient.Response range = c.get(path, "Range: bytes=100-199");
      assertThat(range.status()).as("a Range is answered here").isEqualTo(206);
      assertThat(range.body()).isEqualTo(Arrays.copyOfRange(layer, 100, 200));
      assertThat(c.get("/v2/").status()).isEqualTo(200); // the lines before are written now
    }
    assertThat(lines.list)
        .map(ILoggingEvent::getFormattedMessage)
        .anySatisfy(
            l -> assertThat(l).startsWith("GET " + path + " 307 0B ").contains(" cache=redirect "));
  }

  @Test
  void credentialsThatWouldFollowTheRedirectToTheStoresHostKeepTheBlobServedHere()
      throws Exception {
    byte[] layer = random(100_000, 2);
    String digest = up.putImage("team/app", "v1", layer).layerDigests().get(0);
    String path = "/v2/team/app/blobs/" + digest;
    get("127.0.0.1", path);
    awaitRedirect("127.0.0.1", path);
    String credentials = "Authorization: Basic YWxpY2U6c2VjcmV0";

    // The store is at 127.0.0.1 too: Go clients would send the Authorization along.
    RawHttpClient.Response sameHost = get("127.0.0.1", path, credentials);
    assertThat(sameHost.status()).isEqualTo(200);
    assertThat(sameHost.body()).isEqualTo(layer);
    // Asked by another name, the store's host is another one: they would not.
    RawHttpClient.Response otherHost = get("localhost", path, credentials);
    assertThat(otherHost.status()).isEqualTo(307);
    assertThat(otherHost.header("Location").orElseThrow()).doesNotContain("YWxpY2U6c2VjcmV0");
  }

  private RawHttpClient.Response awaitRedirect(String host, String path) {
    RawHttpClient.Response[] last = new RawHttpClient.Response[1];
    await("a redirect of " + path)
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(100))
        .until(
            () -> {
              last[0] = get(host, path);
              assertThat(last[0].status()).isIn(200, 307);
              return last[0].status() == 307;
            });
    return last[0];
  }

  private RawHttpClient.Response get(String host, String path, String... headers)
      throws java.io.IOException {
    try (RawHttpClient c = client(host)) {
      return c.get(path, headers);
    }
  }

  private RawHttpClient client(String host) {
    int port = ((InetSocketAddress) server.localAddress()).getPort();
    return new RawHttpClient(host, port, Duration.ofSeconds(10));
  }

  private static byte[] random(int size, long seed) {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    return b;
  }
}
