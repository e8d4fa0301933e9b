package dev.ociproxy.server.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.Tag;
import io.netty.handler.codec.http.HttpMethod;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class V2RouterTest {
  private static final String DIGEST =
      "sha256:abababababababababababababababababababababababababababababababab";

  @TempDir static Path cache;
  private static TestMirrors mirrors;
  private static Upstream example;
  private static Upstream hub;
  private static Upstream local;
  private static V2Router router;
  private static V2Router noDefault;

  @BeforeAll
  static void createMirrors() {
    mirrors = new TestMirrors(cache);
    example = mirrors.upstream("registry.example.com", "http://127.0.0.1:9");
    hub = mirrors.upstream("docker.io", "https://registry-1.docker.io");
    local = mirrors.upstream("localhost:5000", "http://127.0.0.1:9");
    Map<String, Upstream> byName =
        Map.of("registry.example.com", example, "docker.io", hub, "localhost:5000", local);
    router = new V2Router(byName, hub);
    noDefault = new V2Router(byName, null);
  }

  @AfterAll
  static void stopMirrors() {
    mirrors.close();
  }

  @ParameterizedTest
  @ValueSource(strings = {"/v2", "/v2/", "/v2/?ns=docker.io"})
  void apiRootIsTheVersionCheck(String uri) {
    assertThat(router.route(HttpMethod.GET, uri)).isInstanceOf(V2Request.ApiVersionCheck.class);
    assertThat(router.route(HttpMethod.HEAD, uri)).isInstanceOf(V2Request.ApiVersionCheck.class);
  }

  @Test
  void upstreamNamedAsFirstPathComponentIsChosenAndStrippedFromTheRepository() {
    V2Request.GetManifest m =
        (V2Request.GetManifest)
            router.route(HttpMethod.GET, "/v2/registry.example.com/test/hello/manifests/v1");

    assertThat(m.registry()).isSameAs(example.registry());
    assertThat(m.repository().value()).isEqualTo("test/hello");
    assertThat(m.clientName()).isEqualTo("registry.example.com/test/hello");
    assertThat(m.reference()).isEqualTo(new Tag("v1"));
    assertThat(m.head()).isFalse();
  }

  @Test
  void upstreamNameWithPortIsAPrefixToo() {
    V2Request.GetManifest m =
        (V2Request.GetManifest)
            router.route(HttpMethod.GET, "/v2/localhost:5000/hello/manifests/v1");

    assertThat(m.registry()).isSameAs(local.registry());
    assertThat(m.repository().value()).isEqualTo("hello");
  }

  @Test
  void headManifestIsMarkedHead() {
    V2Request.GetManifest m =
        (V2Request.GetManifest)
            router.route(HttpMethod.HEAD, "/v2/registry.example.com/a/manifests/v1");

    assertThat(m.head()).isTrue();
  }

  @Test
  void manifestByDigestCarriesTheDigest() {
    V2Request.GetManifest m =
        (V2Request.GetManifest)
            router.route(HttpMethod.GET, "/v2/registry.example.com/a/manifests/" + DIGEST);

    assertThat(m.reference()).isEqualTo(Digest.parse(DIGEST));
  }

  @Test
  void nsQueryChoosesTheUpstreamForContainerdMirrorRequests() {
    V2Request.GetManifest m =
        (V2Request.GetManifest)
            router.route(HttpMethod.GET, "/v2/test/hello/manifests/v1?ns=registry.example.com");

    assertThat(m.registry()).isSameAs(example.registry());
    assertThat(m.repository().value()).isEqualTo("test/hello");
    assertThat(m.clientName()).isEqualTo("test/hello");
  }

  @Test
  void nsQueryWinsOverAPathPrefix() {
    V2Request.GetBlob b =
        (V2Request.GetBlob)
            router.route(
                HttpMethod.GET,
                "/v2/registry.example.com/a/blobs/" + DIGEST + "?ns=localhost:5000");

    assertThat(b.registry()).isSameAs(local.registry());
    assertThat(b.repository().value()).isEqualTo("registry.example.com/a");
  }

  @Test
  void nsQueryNamingNoConfiguredUpstreamIsNameUnknown() {
    assertRefused(
        router,
        HttpMethod.GET,
        "/v2/test/hello/manifests/v1?ns=quay.io",
        OciErrorCode.NAME_UNKNOWN,
        404);
  }

  @Test
  void repositoryWithoutUpstreamPrefixGoesToTheDefaultUpstream() {
    V2Request.GetManifest m =
        (V2Request.GetManifest) router.route(HttpMethod.GET, "/v2/myorg/app/manifests/v1");

    assertThat(m.registry()).isSameAs(hub.registry());
    assertThat(m.repository().value()).isEqualTo("myorg/app");
  }

  @Test
  void repositoryWithoutUpstreamPrefixAndNoDefaultIsNameUnknown() {
    assertRefused(
        noDefault, HttpMethod.GET, "/v2/myorg/app/manifests/v1", OciErrorCode.NAME_UNKNOWN, 404);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "/v2/quay.io/org/app/manifests/v1",
        "/v2/localhost/app/manifests/v1",
        "/v2/otherhost:5000/app/manifests/v1",
        "/v2/ghcr.io/org/app/blobs/" + DIGEST,
        "/v2/ghcr.io/org/app/tags/list"
      })
  void unknownHostLikePrefixIsNameUnknownRatherThanARepositoryOfTheDefault(String uri) {
    assertRefused(router, HttpMethod.GET, uri, OciErrorCode.NAME_UNKNOWN, 404);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "/v2/registry.example.com/manifests/v1",
        "/v2/docker.io/blobs/" + DIGEST,
        "/v2/registry.example.com/tags/list"
      })
  void anUpstreamNameWithoutARepositoryIsNameUnknownNotARepositoryOfTheDefault(String uri) {
    assertRefused(router, HttpMethod.GET, uri, OciErrorCode.NAME_UNKNOWN, 404)
        .hasMessageContaining("is an upstream, not a repository");
  }

  @Test
  void dockerHubSingleComponentNameGetsLibraryPrefix() {
    V2Request.GetManifest viaPrefix =
        (V2Request.GetManifest) router.route(HttpMethod.GET, "/v2/docker.io/alpine/manifests/3.19");
    V2Request.GetManifest viaDefault =
        (V2Request.GetManifest) router.route(HttpMethod.GET, "/v2/alpine/manifests/3.19");
    V2Request.GetBlob viaNs =
        (V2Request.GetBlob)
            router.route(HttpMethod.GET, "/v2/alpine/blobs/" + DIGEST + "?ns=docker.io");

    assertThat(viaPrefix.repository().value()).isEqualTo("library/alpine");
    assertThat(viaPrefix.clientName()).isEqualTo("docker.io/alpine");
    assertThat(viaDefault.repository().value()).isEqualTo("library/alpine");
    assertThat(viaNs.repository().value()).isEqualTo("library/alpine");
  }

  @Test
  void dockerHubMultiComponentNameIsLeftAlone() {
    V2Request.GetManifest m =
        (V2Request.GetManifest)
            router.route(HttpMethod.GET, "/v2/docker.io/bitnami/redis/manifests/7");

    assertThat(m.repository().value()).isEqualTo("bitnami/redis");
  }

  @Test
  void singleComponentNameOnOtherUpstreamsGetsNoLibraryPrefix() {
    V2Request.GetManifest m =
        (V2Request.GetManifest)
            router.route(HttpMethod.GET, "/v2/registry.example.com/alpine/manifests/1");

    assertThat(m.repository().value()).isEqualTo("alpine");
  }

  @Test
  void blobGetAndHeadCarryTheDigest() {
    V2Request.GetBlob get =
        (V2Request.GetBlob)
            router.route(HttpMethod.GET, "/v2/registry.example.com/a/b/blobs/" + DIGEST);
    V2Request.GetBlob head =
        (V2Request.GetBlob)
            router.route(HttpMethod.HEAD, "/v2/registry.example.com/a/b/blobs/" + DIGEST);

    assertThat(get.registry()).isSameAs(example.registry());
    assertThat(get.repository().value()).isEqualTo("a/b");
    assertThat(get.digest()).isEqualTo(Digest.parse(DIGEST));
    assertThat(get.head()).isFalse();
    assertThat(head.head()).isTrue();
  }

  @Test
  void tagListPassesOnlyValidatedPaginationParameters() {
    V2Request.ListTags t =
        (V2Request.ListTags)
            router.route(
                HttpMethod.GET, "/v2/registry.example.com/a/tags/list?n=10&last=v1.2&evil=1");

    assertThat(t.registry()).isSameAs(example.registry());
    assertThat(t.repository().value()).isEqualTo("a");
    assertThat(t.clientName()).isEqualTo("registry.example.com/a");
    assertThat(t.query()).isEqualTo("n=10&last=v1.2");
  }

  @Test
  void tagListWithoutParametersHasAnEmptyQuery() {
    V2Request.ListTags t =
        (V2Request.ListTags) router.route(HttpMethod.GET, "/v2/alpine/tags/list");

    assertThat(t.query()).isEmpty();
    assertThat(t.repository().value()).isEqualTo("library/alpine");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {"?n=-1", "?n=abc", "?n=10000000", "?last=a%26n%3D5", "?last=.x", "?last=a/b"})
  void tagListWithInvalidPaginationIsRefused(String query) {
    assertThatThrownBy(() -> router.route(HttpMethod.GET, "/v2/alpine/tags/list" + query))
        .isInstanceOfSatisfying(
            RegistryException.class, e -> assertThat(e.status()).isEqualTo(400));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "/v2/registry.example.com/a%2Fb/manifests/v1",
        "/v2/registry.example.com/a/manifests/v%31",
        "/v2/%72egistry.example.com/a/manifests/v1",
        "/v2/registry.example.com/../secret/manifests/v1",
        "/v2/registry.example.com/a/../b/manifests/v1",
        "/v2/registry.example.com/./a/manifests/v1",
        "/v2/registry.example.com/a/blobs/..",
        "/v2/registry.example.com//a/manifests/v1",
        "/v2//a/manifests/v1",
        "/v2/registry.example.com/a\\b/manifests/v1",
        "/v2/registry.example.com/a..b/manifests/v1",
        "/v2/registry.example.com/A/manifests/v1",
        "/v2/registry.example.com/-a/manifests/v1"
      })
  void encodedOrTraversingOrInvalidNamesAreNameInvalid(String uri) {
    assertRefused(router, HttpMethod.GET, uri, OciErrorCode.NAME_INVALID, 400);
  }

  @Test
  void overlongRepositoryNameIsNameInvalid() {
    String name = "a/".repeat(300) + "a";

    assertRefused(
        router, HttpMethod.GET, "/v2/" + name + "/manifests/v1", OciErrorCode.NAME_INVALID, 400);
  }

  @Test
  void overlongUriIsRefusedWith414() {
    String uri = "/v2/a/manifests/v1?x=" + "y".repeat(V2Router.MAX_URI_LENGTH);

    assertRefused(router, HttpMethod.GET, uri, OciErrorCode.NAME_INVALID, 414);
  }

  @ParameterizedTest
  @ValueSource(strings = {"PUT", "POST", "DELETE", "PATCH"})
  void pushMethodsAreUnsupported(String method) {
    HttpMethod m = HttpMethod.valueOf(method);

    assertRefused(
        router, m, "/v2/registry.example.com/a/manifests/v1", OciErrorCode.UNSUPPORTED, 405);
    assertRefused(
        router, m, "/v2/registry.example.com/a/blobs/" + DIGEST, OciErrorCode.UNSUPPORTED, 405);
    assertRefused(router, m, "/v2/registry.example.com/a/tags/list", OciErrorCode.UNSUPPORTED, 405);
    assertRefused(router, m, "/v2/", OciErrorCode.UNSUPPORTED, 405);
  }

  @Test
  void pushToAnUnknownEndpointIsStillUnsupported() {
    assertRefused(router, HttpMethod.PUT, "/v2/a/referrers/x", OciErrorCode.UNSUPPORTED, 405);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "/v2/registry.example.com/a/blobs/uploads/",
        "/v2/registry.example.com/a/blobs/uploads/3f7c5e2a-uuid",
        "/v2/a/blobs/uploads/?digest=" + DIGEST
      })
  void uploadPathsAreUnsupportedForEveryMethod(String uri) {
    assertRefused(router, HttpMethod.POST, uri, OciErrorCode.UNSUPPORTED, 405);
    assertRefused(router, HttpMethod.GET, uri, OciErrorCode.UNSUPPORTED, 405);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "sha256:XYZ",
        "sha256:abc",
        "md5:d41d8cd98f00b204e9800998ecf8427e",
        "sha256:" + "AB"
      })
  void invalidBlobDigestIsDigestInvalid(String digest) {
    assertRefused(
        router,
        HttpMethod.GET,
        "/v2/registry.example.com/a/blobs/" + digest,
        OciErrorCode.DIGEST_INVALID,
        400);
  }

  @Test
  void blobReferencedByTagIsDigestInvalid() {
    assertRefused(
        router,
        HttpMethod.GET,
        "/v2/registry.example.com/a/blobs/latest",
        OciErrorCode.DIGEST_INVALID,
        400);
  }

  @Test
  void invalidManifestDigestIsDigestInvalid() {
    assertRefused(
        router,
        HttpMethod.GET,
        "/v2/registry.example.com/a/manifests/sha256:1234",
        OciErrorCode.DIGEST_INVALID,
        400);
  }

  /** The OCI conformance suite (v1.1.1, pull) asks for .INVALID_MANIFEST_NAME and expects a 404. */
  @ParameterizedTest
  @ValueSource(
      strings = {
        ".INVALID_MANIFEST_NAME",
        ".hidden",
        "-dash",
        "t@g",
        "t!g",
        "T12345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678"
      })
  void tagOutsideTheGrammarIsManifestUnknown404(String tag) {
    assertRefused(
        router,
        HttpMethod.GET,
        "/v2/registry.example.com/a/manifests/" + tag,
        OciErrorCode.MANIFEST_UNKNOWN,
        404);
    assertRefused(
        router,
        HttpMethod.HEAD,
        "/v2/registry.example.com/a/manifests/" + tag,
        OciErrorCode.MANIFEST_UNKNOWN,
        404);
  }

  @Test
  void tagAtTheGrammarsLimitsIsATag() {
    for (String tag : List.of("_", "v1.2-rc_3", "T".repeat(128))) {
      V2Request.GetManifest m =
          (V2Request.GetManifest) router.route(HttpMethod.GET, "/v2/a/manifests/" + tag);
      assertThat(m.reference()).isEqualTo(new Tag(tag));
    }
  }

  @Test
  void referrersAreRoutedByPathPrefixAndByNsWithTheArtifactTypeFilter() {
    V2Request.GetReferrers byPrefix =
        (V2Request.GetReferrers)
            router.route(
                HttpMethod.GET,
                "/v2/registry.example.com/a/b/referrers/"
                    + DIGEST
                    + "?artifactType=application/spdx%2Bjson");
    V2Request.GetReferrers byNs =
        (V2Request.GetReferrers)
            router.route(
                HttpMethod.GET,
                "/v2/a/b/referrers/"
                    + DIGEST
                    + "?ns=registry.example.com&artifactType=application/spdx+json");

    for (V2Request.GetReferrers r : List.of(byPrefix, byNs)) {
      assertThat(r.registry()).isSameAs(example.registry());
      assertThat(r.repository().value()).isEqualTo("a/b");
      assertThat(r.subject()).isEqualTo(Digest.parse(DIGEST));
      assertThat(r.artifactType()).isEqualTo("application/spdx+json");
    }
    assertThat(V2Request.routeName(byPrefix)).isEqualTo("referrers");
    assertThat(
            ((V2Request.GetReferrers) router.route(HttpMethod.GET, "/v2/a/referrers/" + DIGEST))
                .artifactType())
        .isNull();
  }

  @Test
  void referrersOfATagOrOfAMalformedFilterAreRefused400() {
    assertRefused(
        router, HttpMethod.GET, "/v2/a/referrers/latest", OciErrorCode.DIGEST_INVALID, 400);
    assertRefused(
        router,
        HttpMethod.GET,
        "/v2/a/referrers/" + DIGEST + "?artifactType=%3Cb%3E",
        OciErrorCode.UNSUPPORTED,
        400);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "/",
        "/v1/_ping",
        "/v2x/a/manifests/v1",
        "/metrics",
        "/v2/a/referrers/",
        "/v2/a/b"
      })
  void pathsOutsideTheReadApiAreNameUnknown(String uri) {
    assertRefused(router, HttpMethod.GET, uri, OciErrorCode.NAME_UNKNOWN, 404);
  }

  private static AbstractThrowableAssert<?, ? extends Throwable> assertRefused(
      V2Router r, HttpMethod method, String uri, OciErrorCode code, int status) {
    return assertThatThrownBy(() -> r.route(method, uri))
        .isInstanceOfSatisfying(
            RegistryException.class,
            e -> {
              assertThat(e.code()).isEqualTo(code);
              assertThat(e.status()).isEqualTo(status);
            });
  }
}
