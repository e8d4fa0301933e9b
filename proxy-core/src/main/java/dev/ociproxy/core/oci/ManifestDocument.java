package dev.ociproxy.core.oci;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * A manifest or index whose JSON has been checked for self-consistency: its media type is decided
 * from the document itself, so a body cannot be an image manifest to one reader and an index to
 * another (CVE-2021-41190).
 */
public final class ManifestDocument {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final String mediaType;
  private final JsonNode root;

  private ManifestDocument(String mediaType, JsonNode root) {
    this.mediaType = mediaType;
    this.root = root;
  }

  /**
   * Parses {@code body} and decides its media type. {@code contentType} is what the upstream said
   * (may be null when serving from cache); when present it must agree with the document.
   *
   * @throws RegistryException {@code MANIFEST_INVALID} when the body is not JSON, is ambiguous, or
   *     disagrees with {@code contentType}
   */
  public static ManifestDocument parse(byte[] body, @Nullable String contentType) {
    requireNonNull(body, "body");
    JsonNode root;
    try {
      root = JSON.readTree(body);
    } catch (JsonProcessingException e) {
      throw invalid("manifest is not valid JSON: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw invalid("manifest is not valid JSON");
    }
    if (root == null || !root.isObject()) {
      throw invalid("manifest is not a JSON object");
    }
    String declared = textOrNull(root, "mediaType");
    boolean hasManifests = root.has("manifests");
    boolean hasLayers = root.has("layers") || root.has("config");
    if (hasManifests && hasLayers) {
      throw invalid("manifest has both 'manifests' and 'layers'/'config'");
    }
    String sniffed;
    if (root.path("schemaVersion").asInt(-1) == 1) {
      sniffed = MediaTypes.DOCKER_SCHEMA1_SIGNED;
    } else if (hasManifests) {
      sniffed = MediaTypes.OCI_INDEX;
    } else {
      sniffed = MediaTypes.OCI_MANIFEST;
    }
    String upstream = contentType == null ? null : MediaTypes.bare(contentType);
    String mediaType;
    if (declared != null) {
      if (MediaTypes.isIndex(declared) != hasManifests) {
        throw invalid("mediaType " + declared + " does not match the document's structure");
      }
      mediaType = declared;
    } else if (upstream != null && isManifestType(upstream)) {
      if (MediaTypes.isIndex(upstream) != hasManifests) {
        throw invalid("Content-Type " + upstream + " does not match the document's structure");
      }
      mediaType = upstream;
    } else {
      mediaType = sniffed;
    }
    if (upstream != null && isManifestType(upstream) && !sameKind(upstream, mediaType)) {
      throw invalid("Content-Type " + upstream + " disagrees with mediaType " + mediaType);
    }
    return new ManifestDocument(mediaType, root);
  }

  private static boolean isManifestType(String t) {
    return MediaTypes.ALL_MANIFESTS.contains(t) || MediaTypes.DOCKER_SCHEMA1.equals(t);
  }

  /** Schema 1 has a signed and an unsigned name for the same document; all others must be equal. */
  private static boolean sameKind(String a, String b) {
    if (a.equals(b)) {
      return true;
    }
    return isSchema1(a) && isSchema1(b);
  }

  private static boolean isSchema1(String t) {
    return MediaTypes.DOCKER_SCHEMA1.equals(t) || MediaTypes.DOCKER_SCHEMA1_SIGNED.equals(t);
  }

  private static RegistryException invalid(String message) {
    return new RegistryException(OciErrorCode.MANIFEST_INVALID, 502, message);
  }

  private static @Nullable String textOrNull(JsonNode n, String field) {
    JsonNode v = n.get(field);
    return v != null && v.isTextual() ? v.asText() : null;
  }

  public String mediaType() {
    return mediaType;
  }

  public boolean isIndex() {
    return MediaTypes.isIndex(mediaType);
  }

  /** For an index: its child manifests. */
  public List<Descriptor> manifests() {
    return descriptors(root.path("manifests"));
  }

  /** For an image manifest: the config blob followed by the layers. */
  public List<Descriptor> blobs() {
    List<Descriptor> out = new ArrayList<>();
    if (root.has("config")) {
      out.addAll(descriptors(JSON.createArrayNode().add(root.get("config"))));
    }
    out.addAll(descriptors(root.path("layers")));
    return out;
  }

  private static List<Descriptor> descriptors(JsonNode array) {
    List<Descriptor> out = new ArrayList<>();
    for (JsonNode d : array) {
      String digest = textOrNull(d, "digest");
      if (digest == null) {
        throw invalid("descriptor without digest");
      }
      JsonNode p = d.get("platform");
      Descriptor.Platform platform =
          p == null
              ? null
              : new Descriptor.Platform(
                  textOrNull(p, "os"), textOrNull(p, "architecture"), textOrNull(p, "variant"));
      String mt = textOrNull(d, "mediaType");
      out.add(
          new Descriptor(
              mt == null ? "application/octet-stream" : mt,
              Digest.parse(digest),
              d.path("size").asLong(0),
              platform));
    }
    return out;
  }
}
