package dev.ociproxy.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ociproxy.core.cache.DirectWrites;
import dev.ociproxy.core.registry.MirrorOptions;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ConfigLoaderTest {
  private static final String ONE_UPSTREAM =
      """
      upstreams:
        - name: registry.example.com
          url: http://127.0.0.1:5000
          default: true
      """;

  @TempDir Path dir;

  @Test
  void minimalConfigGetsDefaultsForEverythingElse() {
    ProxyConfig c = noEnv().parse(ONE_UPSTREAM);

    assertThat(c.listen().getHostString()).isEqualTo("0.0.0.0");
    assertThat(c.listen().getPort()).isEqualTo(5000);
    assertThat(c.cacheDir()).isEqualTo(Path.of("cache"));
    assertThat(c.limits()).isEqualTo(ProxyConfig.Limits.defaults());
    assertThat(c.upstreams()).hasSize(1);
    ProxyConfig.Upstream u = c.upstreams().get(0);
    assertThat(u.name()).isEqualTo("registry.example.com");
    assertThat(u.isDefault()).isTrue();
    assertThat(u.options().url()).isEqualTo(URI.create("http://127.0.0.1:5000"));
    assertThat(u.options().hasCredentials()).isFalse();
    assertThat(u.options().connectTimeout()).isEqualTo(Duration.ofSeconds(10));
    assertThat(u.options().readTimeout()).isEqualTo(Duration.ofSeconds(30));
    assertThat(u.mirror()).isEqualTo(MirrorOptions.defaults());
  }

  @Test
  void fullConfigIsReadIntoTheRecords() {
    ProxyConfig c =
        noEnv()
            .parse(
                """
                listen: "127.0.0.1:5001"
                cache:
                  dir: /var/cache/proxy
                  tagTtl: 5m
                  manifestMaxBytes: 1MiB
                limits:
                  maxInitialLineLength: 4096
                  maxHeaderSize: 32768
                upstreams:
                  - name: registry.example.com
                    url: https://registry.example.com
                    username: alice
                    password: s3cret
                    connectTimeout: 500ms
                    readTimeout: 2m
                    manifestTimeout: 1h
                    trustedRealmHosts: [Auth.Example.com]
                  - name: localhost:5000
                    url: http://localhost:5000
                    tagTtl: 0s
                    default: true
                """);

    assertThat(c.listen().getHostString()).isEqualTo("127.0.0.1");
    assertThat(c.listen().getPort()).isEqualTo(5001);
    assertThat(c.cacheDir()).isEqualTo(Path.of("/var/cache/proxy"));
    assertThat(c.limits().maxInitialLineLength()).isEqualTo(4096);
    assertThat(c.limits().maxHeaderSize()).isEqualTo(32768);
    ProxyConfig.Upstream first = c.upstreams().get(0);
    assertThat(first.isDefault()).isFalse();
    assertThat(first.options().username()).isEqualTo("alice");
    assertThat(first.options().password()).isEqualTo("s3cret");
    assertThat(first.options().connectTimeout()).isEqualTo(Duration.ofMillis(500));
    assertThat(first.options().readTimeout()).isEqualTo(Duration.ofMinutes(2));
    assertThat(first.options().trustedRealmHosts()).containsExactly("auth.example.com");
    assertThat(first.mirror().manifestTimeout()).isEqualTo(Duration.ofHours(1));
    assertThat(first.mirror().tagTtl()).isEqualTo(Duration.ofMinutes(5));
    assertThat(first.mirror().manifestMaxBytes()).isEqualTo(1L << 20);
    ProxyConfig.Upstream second = c.upstreams().get(1);
    assertThat(second.name()).isEqualTo("localhost:5000");
    assertThat(second.isDefault()).isTrue();
    assertThat(second.mirror().tagTtl()).isZero();
  }

  @Test
  void upstreamWithoutDefaultIsAllowed() {
    ProxyConfig c =
        noEnv()
            .parse("upstreams:\n  - name: registry.example.com\n    url: https://r.example.com\n");

    assertThat(c.upstreams().get(0).isDefault()).isFalse();
  }

  @Test
  void unknownUpstreamKeyIsNamedWithItsPath() {
    assertConfigError(
            """
            upstreams:
              - name: a.example.com
                url: https://a.example.com
              - nmae: b.example.com
                url: https://b.example.com
            """)
        .hasMessageStartingWith("upstreams[1].nmae: unknown key")
        .hasMessageContaining("name, url");
  }

  @Test
  void unknownKeyInFirstUpstreamIsNamedAsUpstreamsZero() {
    assertConfigError("upstreams:\n  - nmae: a\n    url: https://a\n")
        .hasMessageStartingWith("upstreams[0].nmae: unknown key");
  }

  @Test
  void unknownTopLevelAndNestedKeysAreNamed() {
    assertConfigError("lisen: 1.2.3.4:5\n" + ONE_UPSTREAM)
        .hasMessageStartingWith("lisen: unknown key");
    assertConfigError("cache:\n  dri: /x\n" + ONE_UPSTREAM)
        .hasMessageStartingWith("cache.dri: unknown key");
    assertConfigError("limits:\n  maxBody: 1\n" + ONE_UPSTREAM)
        .hasMessageStartingWith("limits.maxBody: unknown key");
  }

  @Test
  void missingUpstreamsIsAnError() {
    assertConfigError("listen: 0.0.0.0:5000\n").hasMessageStartingWith("upstreams: missing");
  }

  @Test
  void emptyFileIsMissingUpstreams() {
    assertConfigError("").hasMessageStartingWith("upstreams: missing");
  }

  @Test
  void emptyOrScalarUpstreamsIsAnError() {
    assertConfigError("upstreams: []\n")
        .hasMessageStartingWith("upstreams: expected a non-empty list");
    assertConfigError("upstreams: docker.io\n")
        .hasMessageStartingWith("upstreams: expected a non-empty list");
  }

  @Test
  void upstreamThatIsNotAMappingIsNamed() {
    assertConfigError("upstreams:\n  - docker.io\n")
        .hasMessageStartingWith("upstreams[0]: expected a mapping");
  }

  @Test
  void missingNameIsNamed() {
    assertConfigError("upstreams:\n  - url: https://r.example.com\n")
        .hasMessageStartingWith("upstreams[0].name: missing");
  }

  @Test
  void missingUrlIsNamed() {
    assertConfigError(
            "upstreams:\n  - name: a.example.com\n    url: https://a.example.com\n  - name: b.example.com\n")
        .hasMessageStartingWith("upstreams[1].url: missing");
  }

  @Test
  void twoDefaultsAreRefusedNamingBoth() {
    assertConfigError(
            """
            upstreams:
              - name: a.example.com
                url: https://a.example.com
                default: true
              - name: b.example.com
                url: https://b.example.com
                default: true
            """)
        .hasMessageStartingWith("upstreams[1].default: two upstreams are marked default")
        .hasMessageContaining("a.example.com")
        .hasMessageContaining("b.example.com");
  }

  @Test
  void defaultMustBeABoolean() {
    assertConfigError("upstreams:\n  - name: a\n    url: https://a\n    default: yes please\n")
        .hasMessageStartingWith("upstreams[0].default:");
  }

  @Test
  void duplicateUpstreamNamesAreRefused() {
    assertConfigError(
            """
            upstreams:
              - name: a.example.com
                url: https://a.example.com
              - name: a.example.com
                url: https://b.example.com
            """)
        .hasMessageStartingWith("upstreams[1].name: 'a.example.com' is used by two upstreams");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "Registry.Example.com",
        "-a.example.com",
        "a.example.com/",
        "a b",
        "a.example.com:http"
      })
  void upstreamNameThatIsNotALowerCaseHostIsRefused(String name) {
    assertConfigError("upstreams:\n  - name: \"" + name + "\"\n    url: https://a.example.com\n")
        .hasMessageStartingWith("upstreams[0].name:");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {"ftp://r.example.com", "file:///etc/passwd", "r.example.com", "//r.example.com"})
  void urlWithoutHttpOrHttpsSchemeIsRefused(String url) {
    assertConfigError("upstreams:\n  - name: r.example.com\n    url: \"" + url + "\"\n")
        .hasMessageStartingWith("upstreams[0].url:")
        .hasMessageContaining("expected an http:// or https:// URL");
  }

  @Test
  void urlWithoutHostIsRefused() {
    assertConfigError("upstreams:\n  - name: r.example.com\n    url: \"https:///v2\"\n")
        .hasMessageStartingWith("upstreams[0].url:");
  }

  @Test
  void urlWithCredentialsIsRefusedWithoutEchoingThem() {
    assertConfigError(
            "upstreams:\n  - name: r.example.com\n    url: https://alice:hunter2@r.example.com\n")
        .hasMessageStartingWith("upstreams[0].url:")
        .hasMessageContaining("credentials")
        .hasMessageNotContaining("hunter2");
  }

  @Test
  void urlWithQueryOrFragmentIsRefused() {
    assertConfigError("upstreams:\n  - name: r.example.com\n    url: https://r.example.com/?x=1\n")
        .hasMessageStartingWith("upstreams[0].url:");
    assertConfigError(
            "upstreams:\n  - name: r.example.com\n    url: \"https://r.example.com/#x\"\n")
        .hasMessageStartingWith("upstreams[0].url:");
  }

  @Test
  void unparsableUrlIsRefused() {
    assertConfigError(
            "upstreams:\n  - name: r.example.com\n    url: \"https://r.example.com/a b\"\n")
        .hasMessageStartingWith("upstreams[0].url:")
        .hasMessageContaining("is not a URL");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "5000",
        ":5000",
        "localhost",
        "localhost:",
        "localhost:http",
        "localhost:65536",
        "localhost:-1"
      })
  void badListenAddressIsRefused(String listen) {
    assertConfigError("listen: \"" + listen + "\"\n" + ONE_UPSTREAM)
        .hasMessageStartingWith("listen:");
  }

  @Test
  void bracketedIpv6ListenAddressIsAccepted() {
    ProxyConfig c = noEnv().parse("listen: \"[::1]:5001\"\n" + ONE_UPSTREAM);

    assertThat(c.listen().getAddress().isLoopbackAddress()).isTrue();
    assertThat(c.listen().getPort()).isEqualTo(5001);
  }

  @ParameterizedTest
  @CsvSource({
    "500ms,PT0.5S",
    "30s,PT30S",
    "45,PT45S",
    "5m,PT5M",
    "1h,PT1H",
    "2d,PT48H",
    "'10 s',PT10S"
  })
  void durationsAcceptTheDocumentedUnits(String text, String iso) {
    assertThat(
            noEnv()
                .parse("cache:\n  tagTtl: '" + text + "'\n" + ONE_UPSTREAM)
                .upstreams()
                .get(0)
                .mirror()
                .tagTtl())
        .isEqualTo(Duration.parse(iso));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "1.5s",
        "-1s",
        "5 minutes",
        "s",
        "",
        "PT5S",
        "99999999999999999999s",
        "9999999999999999d"
      })
  void malformedOrOverflowingDurationIsAConfigErrorNamingTheKey(String text) {
    assertConfigError(ONE_UPSTREAM + "    readTimeout: '" + text + "'\n")
        .hasMessageStartingWith("upstreams[0].readTimeout:");
  }

  @ParameterizedTest
  @CsvSource({
    "512,512",
    "512B,512",
    "4KB,4000",
    "4KiB,4096",
    "4MiB,4194304",
    "4 MiB,4194304",
    "1MB,1000000",
    "2GiB,2147483648",
    "1GB,1000000000",
    "1TiB,1099511627776",
    "1TB,1000000000000"
  })
  void sizesAcceptTheDocumentedUnits(String text, long bytes) {
    assertThat(noEnv().parse("cache:\n  maxSize: '" + text + "'\n" + ONE_UPSTREAM).cacheMaxSize())
        .isEqualTo(bytes);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {"4mb", "4 M", "-1", "1.5MiB", "MiB", "", "99999999999999999999", "9999999999TiB"})
  void malformedOrOverflowingSizeIsAConfigErrorNamingTheKey(String text) {
    assertConfigError("cache:\n  manifestMaxBytes: '" + text + "'\n" + ONE_UPSTREAM)
        .hasMessageStartingWith("cache.manifestMaxBytes:");
  }

  @Test
  void limitTooLargeForAnIntIsRefusedRatherThanTruncated() {
    assertConfigError("limits:\n  maxHeaderSize: 4GiB\n" + ONE_UPSTREAM)
        .hasMessageStartingWith("limits.maxHeaderSize:");
  }

  @Test
  void zeroLimitIsRefusedBecauseTheCodecCannotUseIt() {
    assertConfigError("limits:\n  maxInitialLineLength: 0\n" + ONE_UPSTREAM)
        .hasMessageStartingWith("limits.maxInitialLineLength:");
  }

  @Test
  void badDurationInYamlIsNamedWithItsPath() {
    assertConfigError("cache:\n  tagTtl: soon\n" + ONE_UPSTREAM)
        .hasMessageStartingWith("cache.tagTtl:");
  }

  @Test
  void environmentReferencesAreSubstituted() {
    ConfigLoader loader =
        new ConfigLoader(Map.of("REG_USER", "alice", "REG_PASS", "p$w\\rd", "PORT", "5002")::get);

    ProxyConfig c =
        loader.parse(
            """
            listen: "127.0.0.1:${PORT}"
            upstreams:
              - name: r.example.com
                url: https://r.example.com
                username: ${REG_USER}
                password: "${REG_PASS}"
            """);

    assertThat(c.listen().getPort()).isEqualTo(5002);
    assertThat(c.upstreams().get(0).options().username()).isEqualTo("alice");
    assertThat(c.upstreams().get(0).options().password()).isEqualTo("p$w\\rd");
  }

  @Test
  void severalReferencesInOneValueAreAllSubstituted() {
    ConfigLoader loader = new ConfigLoader(Map.of("A", "one", "B", "two")::get);

    ProxyConfig c = loader.parse("cache:\n  dir: /x/${A}/${B}\n" + ONE_UPSTREAM);

    assertThat(c.cacheDir()).isEqualTo(Path.of("/x/one/two"));
  }

  @Test
  void directWritesAreAutomaticUnlessTheConfigSaysAlwaysOrNever() {
    assertThat(noEnv().parse(ONE_UPSTREAM).directWrites()).isEqualTo(DirectWrites.AUTO);
    assertThat(noEnv().parse("cache:\n  directWrites: auto\n" + ONE_UPSTREAM).directWrites())
        .isEqualTo(DirectWrites.AUTO);
    assertThat(noEnv().parse("cache:\n  directWrites: true\n" + ONE_UPSTREAM).directWrites())
        .isEqualTo(DirectWrites.ALWAYS);
    assertThat(noEnv().parse("cache:\n  directWrites: false\n" + ONE_UPSTREAM).directWrites())
        .isEqualTo(DirectWrites.NEVER);
    assertThatThrownBy(() -> noEnv().parse("cache:\n  directWrites: sometimes\n" + ONE_UPSTREAM))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("cache.directWrites:")
        .hasMessageContaining("expected auto, true or false");
  }

  @Test
  void unsetEnvironmentVariableIsAnErrorNamingKeyAndVariable() {
    assertThatThrownBy(
            () ->
                noEnv()
                    .parse(
                        "upstreams:\n  - name: r.example.com\n    url: https://r.example.com\n"
                            + "    username: bob\n    password: ${REG_PASS}\n"))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("upstreams[0].password:")
        .hasMessageContaining("${REG_PASS}")
        .hasMessageContaining("not set");
  }

  @Test
  void textThatOnlyLooksLikeAReferenceIsLeftAlone() {
    ProxyConfig c =
        noEnv()
            .parse(
                "upstreams:\n  - name: r.example.com\n    url: https://r.example.com\n"
                    + "    username: bob\n    password: \"$HOME and ${not valid}\"\n");

    assertThat(c.upstreams().get(0).options().password()).isEqualTo("$HOME and ${not valid}");
  }

  @Test
  void passwordFileIsReadAndTrimmed() throws IOException {
    Path secret = Files.writeString(dir.resolve("secret"), "  s3cret\n");

    ProxyConfig c =
        noEnv()
            .parse(
                "upstreams:\n  - name: r.example.com\n    url: https://r.example.com\n"
                    + "    username: bob\n    passwordFile: "
                    + secret
                    + "\n");

    assertThat(c.upstreams().get(0).options().password()).isEqualTo("s3cret");
  }

  @Test
  void unreadablePasswordFileIsNamed() {
    assertConfigError(
            "upstreams:\n  - name: r.example.com\n    url: https://r.example.com\n"
                + "    username: bob\n    passwordFile: "
                + dir.resolve("missing")
                + "\n")
        .hasMessageStartingWith("upstreams[0].passwordFile: cannot read");
  }

  @Test
  void passwordAndPasswordFileTogetherAreRefused() throws IOException {
    Path secret = Files.writeString(dir.resolve("secret"), "x");

    assertConfigError(
            "upstreams:\n  - name: r.example.com\n    url: https://r.example.com\n"
                + "    username: bob\n    password: y\n    passwordFile: "
                + secret
                + "\n")
        .hasMessageStartingWith("upstreams[0].passwordFile:");
  }

  @Test
  void usernameWithoutPasswordAndPasswordWithoutUsernameAreRefused() {
    assertConfigError("upstreams:\n  - name: r\n    url: https://r\n    username: bob\n")
        .hasMessageStartingWith("upstreams[0].password: missing");
    assertConfigError("upstreams:\n  - name: r\n    url: https://r\n    password: pw\n")
        .hasMessageStartingWith("upstreams[0].username: missing");
  }

  @Test
  void unreadableCaFileIsNamed() {
    assertConfigError(
            "upstreams:\n  - name: r\n    url: https://r\n    caFile: "
                + dir.resolve("nope.pem")
                + "\n")
        .hasMessageStartingWith("upstreams[0].caFile:");
  }

  @Test
  void trustedRealmHostsMustBeAList() {
    assertConfigError(
            "upstreams:\n  - name: r\n    url: https://r\n    trustedRealmHosts: auth.r\n")
        .hasMessageStartingWith("upstreams[0].trustedRealmHosts:");
  }

  @Test
  void nestedValueWhereAScalarIsExpectedIsNamed() {
    assertConfigError("upstreams:\n  - name: r\n    url: [https://r]\n")
        .hasMessageStartingWith("upstreams[0].url: expected a single value");
  }

  @Test
  void textThatIsNotYamlOrNotAMappingIsAFileError() {
    assertConfigError("upstreams: [\n").hasMessageStartingWith("(file): not valid YAML");
    assertConfigError("- a\n- b\n").hasMessageStartingWith("(file): expected a mapping");
  }

  @Test
  void defaultsNeedNoFileAndMirrorDockerHub() {
    ProxyConfig c = noEnv().defaults();

    assertThat(c.upstreams()).hasSize(1);
    ProxyConfig.Upstream hub = c.upstreams().get(0);
    assertThat(hub.name()).isEqualTo("docker.io");
    assertThat(hub.isDefault()).isTrue();
    assertThat(hub.options().url()).isEqualTo(URI.create("https://registry-1.docker.io"));
    assertThat(hub.options().isDockerHub()).isTrue();
    assertThat(c.listen().getHostString()).isEqualTo("0.0.0.0");
    assertThat(c.listen().getPort()).isEqualTo(5000);
    assertThat(c.cacheDir()).isEqualTo(Path.of("cache"));
  }

  @Test
  void cacheDirDefaultsUnderXdgCacheHomeWhenSet() {
    ConfigLoader loader = new ConfigLoader(Map.of("XDG_CACHE_HOME", "/home/u/.cache")::get);

    assertThat(loader.defaults().cacheDir()).isEqualTo(Path.of("/home/u/.cache/registry-proxy"));
    assertThat(loader.parse(ONE_UPSTREAM).cacheDir())
        .isEqualTo(Path.of("/home/u/.cache/registry-proxy"));
  }

  @Test
  void blankXdgCacheHomeIsIgnored() {
    ConfigLoader loader = new ConfigLoader(Map.of("XDG_CACHE_HOME", " ")::get);

    assertThat(loader.defaults().cacheDir()).isEqualTo(Path.of("cache"));
  }

  @Test
  void explicitCacheDirWinsOverXdgCacheHome() {
    ConfigLoader loader = new ConfigLoader(Map.of("XDG_CACHE_HOME", "/home/u/.cache")::get);

    assertThat(loader.parse("cache:\n  dir: /srv/cache\n" + ONE_UPSTREAM).cacheDir())
        .isEqualTo(Path.of("/srv/cache"));
  }

  @Test
  void loadReadsAFile() throws IOException {
    Path file = Files.writeString(dir.resolve("proxy.yaml"), ONE_UPSTREAM);

    assertThat(noEnv().load(file).upstreams()).hasSize(1);
  }

  @Test
  void missingFileIsNamedAsTheConfigOption() {
    assertThatThrownBy(() -> noEnv().load(dir.resolve("absent.yaml")))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("--config: cannot read");
  }

  private static ConfigLoader noEnv() {
    return new ConfigLoader(name -> null);
  }

  private static AbstractThrowableAssert<?, ? extends Throwable> assertConfigError(String yaml) {
    return assertThatThrownBy(() -> noEnv().parse(yaml)).isInstanceOf(ConfigException.class);
  }
}
