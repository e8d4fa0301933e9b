package dev.ociproxy.core.oci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import java.nio.charset.StandardCharsets;
import org.assertj.core.api.AbstractThrowableAssert;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;

class ManifestDocumentTest {
  private static final String CONFIG = "sha256:" + "c".repeat(64);
  private static final String LAYER1 = "sha256:" + "1".repeat(64);
  private static final String LAYER2 = "sha256:" + "2".repeat(64);
  private static final String CHILD_AMD64 = "sha256:" + "a".repeat(64);
  private static final String CHILD_ARM = "sha256:" + "b".repeat(64);

  private static final String LAYERS_AND_CONFIG =
      "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\""
          + CONFIG
          + "\",\"size\":7},"
          + "\"layers\":["
          + "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\""
          + LAYER1
          + "\",\"size\":100},"
          + "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\""
          + LAYER2
          + "\",\"size\":200}]";

  private static final String MANIFESTS =
      "\"manifests\":["
          + "{\"mediaType\":\""
          + MediaTypes.OCI_MANIFEST
          + "\",\"digest\":\""
          + CHILD_AMD64
          + "\",\"size\":500,\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
          + "{\"mediaType\":\""
          + MediaTypes.OCI_MANIFEST
          + "\",\"digest\":\""
          + CHILD_ARM
          + "\",\"size\":501,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}}]";

  @Test
  void imageManifestWithMediaTypeIsAnImageManifest() {
    ManifestDocument doc = parse(manifest(MediaTypes.OCI_MANIFEST, LAYERS_AND_CONFIG), null);

    assertThat(doc.mediaType()).isEqualTo(MediaTypes.OCI_MANIFEST);
    assertThat(doc.isIndex()).isFalse();
  }

  @Test
  void imageManifestBlobsAreTheConfigFollowedByTheLayersInOrder() {
    ManifestDocument doc = parse(manifest(MediaTypes.OCI_MANIFEST, LAYERS_AND_CONFIG), null);

    assertThat(doc.blobs())
        .extracting(d -> d.digest().toString(), Descriptor::size, Descriptor::mediaType)
        .containsExactly(
            tuple(CONFIG, 7L, "application/vnd.oci.image.config.v1+json"),
            tuple(LAYER1, 100L, "application/vnd.oci.image.layer.v1.tar+gzip"),
            tuple(LAYER2, 200L, "application/vnd.oci.image.layer.v1.tar+gzip"));
    assertThat(doc.manifests()).isEmpty();
  }

  @Test
  void indexManifestsCarryTheirPlatforms() {
    ManifestDocument doc = parse(manifest(MediaTypes.OCI_INDEX, MANIFESTS), null);

    assertThat(doc.mediaType()).isEqualTo(MediaTypes.OCI_INDEX);
    assertThat(doc.isIndex()).isTrue();
    assertThat(doc.manifests())
        .extracting(d -> d.digest().toString(), Descriptor::size, d -> d.platform().toString())
        .containsExactly(
            tuple(CHILD_AMD64, 500L, "linux/amd64"), tuple(CHILD_ARM, 501L, "linux/arm/v7"));
    assertThat(doc.blobs()).isEmpty();
  }

  @Test
  void dockerManifestListIsAnIndex() {
    ManifestDocument doc = parse(manifest(MediaTypes.DOCKER_MANIFEST_LIST, MANIFESTS), null);

    assertThat(doc.mediaType()).isEqualTo(MediaTypes.DOCKER_MANIFEST_LIST);
    assertThat(doc.isIndex()).isTrue();
  }

  @Test
  void descriptorWithoutMediaTypeOrSizeDefaultsToOctetStreamAndZero() {
    String body = "{\"schemaVersion\":2,\"layers\":[{\"digest\":\"" + LAYER1 + "\"}]}";

    Descriptor d = parse(body, null).blobs().get(0);

    assertThat(d.mediaType()).isEqualTo("application/octet-stream");
    assertThat(d.size()).isZero();
    assertThat(d.platform()).isNull();
  }

  @Test
  void descriptorWithoutDigestIsManifestInvalid() {
    String body = "{\"schemaVersion\":2,\"layers\":[{\"size\":3}]}";
    ManifestDocument doc = parse(body, null);

    assertManifestInvalid(doc::blobs).hasMessageContaining("descriptor without digest");
  }

  @Test
  void descriptorWithMalformedDigestIsRefused() {
    String body = "{\"schemaVersion\":2,\"layers\":[{\"digest\":\"sha256:nothex\",\"size\":3}]}";
    ManifestDocument doc = parse(body, null);

    assertThatThrownBy(doc::blobs).isInstanceOf(RegistryException.class);
  }

  @Test
  void mediaTypeSayingIndexOnAManifestStructureIsRefused() {
    assertManifestInvalid(() -> parse(manifest(MediaTypes.OCI_INDEX, LAYERS_AND_CONFIG), null))
        .hasMessageContaining("does not match the document's structure");
  }

  @Test
  void mediaTypeSayingManifestOnAnIndexStructureIsRefused() {
    assertManifestInvalid(() -> parse(manifest(MediaTypes.OCI_MANIFEST, MANIFESTS), null))
        .hasMessageContaining("does not match the document's structure");
  }

  @Test
  void documentWithBothManifestsAndLayersIsAmbiguousAndRefused() {
    String body = "{\"schemaVersion\":2," + MANIFESTS + "," + LAYERS_AND_CONFIG + "}";

    assertManifestInvalid(() -> parse(body, null))
        .hasMessageContaining("both 'manifests' and 'layers'/'config'");
  }

  @Test
  void indexWithAConfigAloneIsAmbiguousAndRefused() {
    String body =
        "{\"schemaVersion\":2,\"mediaType\":\""
            + MediaTypes.OCI_INDEX
            + "\","
            + MANIFESTS
            + ",\"config\":{\"digest\":\""
            + CONFIG
            + "\",\"size\":1}}";

    assertManifestInvalid(() -> parse(body, null));
  }

  @Test
  void contentTypeDisagreeingWithMediaTypeIsRefused() {
    String body = manifest(MediaTypes.OCI_MANIFEST, LAYERS_AND_CONFIG);

    assertManifestInvalid(() -> parse(body, MediaTypes.DOCKER_MANIFEST))
        .hasMessageContaining("disagrees with mediaType");
  }

  @Test
  void contentTypeSayingIndexForAManifestIsRefused() {
    String body = manifest(MediaTypes.OCI_MANIFEST, LAYERS_AND_CONFIG);

    assertManifestInvalid(() -> parse(body, MediaTypes.OCI_INDEX));
  }

  @Test
  void contentTypeWithParametersAndOtherCaseStillAgrees() {
    String body = manifest(MediaTypes.OCI_MANIFEST, LAYERS_AND_CONFIG);

    ManifestDocument doc = parse(body, "Application/VND.oci.image.manifest.v1+json; charset=utf-8");

    assertThat(doc.mediaType()).isEqualTo(MediaTypes.OCI_MANIFEST);
  }

  @Test
  void nonManifestContentTypeIsIgnored() {
    String body = manifest(MediaTypes.OCI_INDEX, MANIFESTS);

    assertThat(parse(body, "application/json").mediaType()).isEqualTo(MediaTypes.OCI_INDEX);
    assertThat(parse(body, "text/plain; charset=utf-8").mediaType())
        .isEqualTo(MediaTypes.OCI_INDEX);
  }

  @Test
  void missingMediaTypeTakesAnAgreeingContentType() {
    String body = "{\"schemaVersion\":2," + LAYERS_AND_CONFIG + "}";

    assertThat(parse(body, MediaTypes.DOCKER_MANIFEST).mediaType())
        .isEqualTo(MediaTypes.DOCKER_MANIFEST);
  }

  @Test
  void missingMediaTypeWithAContentTypeOfTheOtherKindIsRefused() {
    String index = "{\"schemaVersion\":2," + MANIFESTS + "}";
    String image = "{\"schemaVersion\":2," + LAYERS_AND_CONFIG + "}";

    assertManifestInvalid(() -> parse(index, MediaTypes.OCI_MANIFEST))
        .hasMessageContaining("Content-Type");
    assertManifestInvalid(() -> parse(image, MediaTypes.DOCKER_MANIFEST_LIST))
        .hasMessageContaining("Content-Type");
  }

  @Test
  void missingMediaTypeWithoutContentTypeIsSniffedFromTheStructure() {
    String index = "{\"schemaVersion\":2," + MANIFESTS + "}";
    String image = "{\"schemaVersion\":2," + LAYERS_AND_CONFIG + "}";

    assertThat(parse(index, null).mediaType()).isEqualTo(MediaTypes.OCI_INDEX);
    assertThat(parse(image, null).mediaType()).isEqualTo(MediaTypes.OCI_MANIFEST);
  }

  @Test
  void schema1WithoutContentTypeIsTheSignedSchema1Type() {
    assertThat(parse(schema1(), null).mediaType()).isEqualTo(MediaTypes.DOCKER_SCHEMA1_SIGNED);
  }

  @Test
  void schema1KeepsTheUnsignedOrSignedNameTheUpstreamUsed() {
    assertThat(parse(schema1(), MediaTypes.DOCKER_SCHEMA1).mediaType())
        .isEqualTo(MediaTypes.DOCKER_SCHEMA1);
    assertThat(parse(schema1(), MediaTypes.DOCKER_SCHEMA1_SIGNED).mediaType())
        .isEqualTo(MediaTypes.DOCKER_SCHEMA1_SIGNED);
  }

  @Test
  void bodyThatIsNotJsonIsManifestInvalidAndBlamesTheUpstream() {
    assertManifestInvalid(() -> parse("{\"schemaVersion\":2,", null))
        .hasMessageContaining("not valid JSON")
        .extracting(e -> ((RegistryException) e).status())
        .isEqualTo(502);
  }

  @Test
  void jsonThatIsNotAnObjectIsManifestInvalid() {
    assertManifestInvalid(() -> parse("[1,2]", null));
    assertManifestInvalid(() -> parse("null", null));
    assertManifestInvalid(() -> parse("\"text\"", null));
    assertManifestInvalid(() -> parse("", null));
  }

  private static String manifest(String mediaType, String rest) {
    return "{\"schemaVersion\":2,\"mediaType\":\"" + mediaType + "\"," + rest + "}";
  }

  private static String schema1() {
    return "{\"schemaVersion\":1,\"name\":\"library/hello\",\"tag\":\"v1\",\"architecture\":\"amd64\","
        + "\"fsLayers\":[{\"blobSum\":\""
        + LAYER1
        + "\"}],\"history\":[]}";
  }

  private static ManifestDocument parse(String body, String contentType) {
    return ManifestDocument.parse(body.getBytes(StandardCharsets.UTF_8), contentType);
  }

  private static AbstractThrowableAssert<?, ? extends Throwable> assertManifestInvalid(
      ThrowingCallable call) {
    return assertThatThrownBy(call)
        .isInstanceOfSatisfying(
            RegistryException.class,
            e -> assertThat(e.code()).isEqualTo(OciErrorCode.MANIFEST_INVALID));
  }
}
