package dev.ociproxy.core.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.HttpMethod;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Where the upstream's credentials may go, and which token realms are used at all. */
class UpstreamClientCredentialsTest {
  private static NioEventLoopGroup group;

  @BeforeAll
  static void startGroup() {
    group = new NioEventLoopGroup(1);
  }

  @AfterAll
  static void stopGroup() {
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
  }

  @Test
  void sameSchemeHostAndPortIsTheSameOrigin() {
    assertThat(
            UpstreamClient.sameOrigin(
                uri("https://r.example.com/v2/x"), uri("https://r.example.com")))
        .isTrue();
  }

  @Test
  void defaultPortAndExplicitDefaultPortAreTheSameOrigin() {
    assertThat(
            UpstreamClient.sameOrigin(
                uri("https://r.example.com:443/v2/"), uri("https://r.example.com")))
        .isTrue();
    assertThat(
            UpstreamClient.sameOrigin(
                uri("http://r.example.com/v2/"), uri("http://r.example.com:80")))
        .isTrue();
  }

  @Test
  void hostAndSchemeCompareCaseInsensitively() {
    assertThat(
            UpstreamClient.sameOrigin(
                uri("HTTPS://R.Example.COM/v2/"), uri("https://r.example.com")))
        .isTrue();
  }

  @Test
  void otherPortIsAnotherOrigin() {
    assertThat(
            UpstreamClient.sameOrigin(
                uri("https://r.example.com:8443/v2/"), uri("https://r.example.com")))
        .isFalse();
  }

  @Test
  void otherSchemeIsAnotherOriginEvenOnTheSameHost() {
    assertThat(
            UpstreamClient.sameOrigin(
                uri("http://r.example.com:443/v2/"), uri("https://r.example.com")))
        .isFalse();
  }

  @Test
  void otherHostIsAnotherOrigin() {
    assertThat(
            UpstreamClient.sameOrigin(
                uri("https://storage.example.net/blob"), uri("https://r.example.com")))
        .isFalse();
    assertThat(
            UpstreamClient.sameOrigin(
                uri("https://r.example.com.evil.net/v2/"), uri("https://r.example.com")))
        .isFalse();
  }

  @Test
  void relativeUriIsNoOrigin() {
    assertThat(UpstreamClient.sameOrigin(uri("/v2/x"), uri("https://r.example.com"))).isFalse();
  }

  @Test
  void realmAtTheUpstreamsOriginMayReceiveCredentials() {
    RegistryAuthenticator c = realms("https://r.example.com", Set.of());

    assertThat(c.mayReceiveCredentials(uri("https://r.example.com/token"))).isTrue();
    assertThat(c.mayReceiveCredentials(uri("https://R.EXAMPLE.COM:443/token"))).isTrue();
  }

  @Test
  void realmOnTheUpstreamsHostAtAnotherPortIsRefusedUnlessItsHostIsListed() {
    RegistryAuthenticator c = realms("https://r.example.com", Set.of());
    assertThat(c.trustedRealm(uri("https://r.example.com:8443/token"))).isFalse();
    assertThat(c.mayReceiveCredentials(uri("https://r.example.com:8443/token"))).isFalse();

    RegistryAuthenticator listed = realms("https://r.example.com", Set.of("r.example.com"));
    assertThat(listed.mayReceiveCredentials(uri("https://r.example.com:8443/token"))).isTrue();
  }

  @Test
  void aTokenRealmElsewhereIsRefusedWithoutARequest() throws Exception {
    try (ServerSocket realm = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        ServerSocket up = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Thread t =
          new Thread(
              () -> {
                try (Socket s = up.accept()) {
                  s.getInputStream().read(new byte[4096]);
                  s.getOutputStream()
                      .write(
                          ("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"http://127.0.0.1:"
                                  + realm.getLocalPort()
                                  + "/token\",service=\"x\"\r\nContent-Length: 0\r\n\r\n")
                              .getBytes(StandardCharsets.ISO_8859_1));
                  s.getInputStream().read();
                } catch (IOException e) {
                  // closed
                }
              });
      t.setDaemon(true);
      t.start();
      UpstreamClient c = client("http://127.0.0.1:" + up.getLocalPort(), Set.of());
      assertThatThrownBy(
              () -> c.request(HttpMethod.GET, "/v2/a/manifests/v1", "a", List.of()).join())
          .hasMessageContaining("refused token realm 127.0.0.1");
      realm.setSoTimeout(200);
      assertThatThrownBy(realm::accept).isInstanceOf(SocketTimeoutException.class);
    }
  }

  @Test
  void realmOnAnotherHostIsRefused() {
    RegistryAuthenticator c = realms("https://r.example.com", Set.of());

    assertThat(c.mayReceiveCredentials(uri("https://auth.example.com/token"))).isFalse();
    assertThat(c.mayReceiveCredentials(uri("https://r.example.com.evil.net/token"))).isFalse();
  }

  @Test
  void realmOnATrustedHostMayReceiveCredentials() {
    RegistryAuthenticator c = realms("https://r.example.com", Set.of("auth.example.com"));

    assertThat(c.mayReceiveCredentials(uri("https://auth.example.com/token"))).isTrue();
    assertThat(c.mayReceiveCredentials(uri("https://Auth.Example.com/token"))).isTrue();
    assertThat(c.mayReceiveCredentials(uri("https://other.example.com/token"))).isFalse();
  }

  @Test
  void dockerHubTrustsAuthDockerIoWithoutConfiguration() {
    RegistryAuthenticator hub = realms("https://registry-1.docker.io", Set.of());

    assertThat(hub.mayReceiveCredentials(uri("https://auth.docker.io/token"))).isTrue();
  }

  @Test
  void authDockerIoIsNotTrustedForOtherUpstreams() {
    RegistryAuthenticator c = realms("https://r.example.com", Set.of());

    assertThat(c.mayReceiveCredentials(uri("https://auth.docker.io/token"))).isFalse();
  }

  @Test
  void httpsUpstreamRefusesAPlainHttpRealmEvenOnItsOwnHost() {
    RegistryAuthenticator c = realms("https://r.example.com", Set.of("auth.example.com"));

    assertThat(c.mayReceiveCredentials(uri("http://r.example.com/token"))).isFalse();
    assertThat(c.mayReceiveCredentials(uri("http://auth.example.com/token"))).isFalse();
  }

  @Test
  void dockerHubRefusesAPlainHttpAuthDockerIo() {
    RegistryAuthenticator hub = realms("https://registry-1.docker.io", Set.of());

    assertThat(hub.mayReceiveCredentials(uri("http://auth.docker.io/token"))).isFalse();
  }

  @Test
  void plainHttpUpstreamMaySendCredentialsToAPlainHttpRealmAtItsOrigin() {
    RegistryAuthenticator c = realms("http://127.0.0.1:5000", Set.of());

    assertThat(c.mayReceiveCredentials(uri("http://127.0.0.1:5000/token"))).isTrue();
    assertThat(c.mayReceiveCredentials(uri("http://127.0.0.1:5001/token"))).isFalse();
    assertThat(c.mayReceiveCredentials(uri("http://127.0.0.2:5000/token"))).isFalse();
  }

  /** The token flow of a client of {@code url}: where its realms and credentials may go. */
  private static RegistryAuthenticator realms(String url, Set<String> trustedRealmHosts) {
    return client(url, trustedRealmHosts).auth();
  }

  private static UpstreamClient client(String url, Set<String> trustedRealmHosts) {
    UpstreamOptions options =
        new UpstreamOptions(
            "test",
            uri(url),
            "user",
            "secret",
            null,
            Duration.ofSeconds(1),
            Duration.ofSeconds(1),
            trustedRealmHosts);
    return new UpstreamClient(options, new HttpTransport(group, NioSocketChannel.class));
  }

  private static URI uri(String s) {
    return URI.create(s);
  }
}
