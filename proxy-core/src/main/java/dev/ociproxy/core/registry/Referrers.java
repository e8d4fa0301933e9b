package dev.ociproxy.core.registry;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.MediaTypes;
import dev.ociproxy.core.verify.VerificationException;
import dev.ociproxy.core.verify.VerificationException.Reason;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * The verified referrers of one digest: every entry was fetched by digest, hashed, and names {@code
 * subject} as its subject. Its {@link #indexJson} is the OCI image index the referrers API answers
 * with.
 *
 * @param stale true when served from an earlier verified list because the upstream failed
 */
public record Referrers(Digest subject, List<Referrer> manifests, boolean stale) {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** One listed referrer, every field recomputed from the manifest's own bytes. */
  public record Referrer(
      String mediaType,
      Digest digest,
      long size,
      @Nullable String artifactType,
      Map<String, String> annotations) {}

  public Referrers {
    manifests = List.copyOf(manifests);
  }

  /**
   * The entry listing {@code body}, a manifest already verified to hash to {@code digest}, among
   * the referrers of {@code subject}: every field recomputed from its bytes, {@code artifactType}
   * by the spec's rule (the manifest's own, else an image manifest's config media type). The listed
   * size is the caller's to check ({@code ManifestCheck.listedSize}).
   *
   * @throws VerificationException {@code SUBJECT_MISMATCH} when its {@code subject} is another
   *     digest or none, {@code INVALID_MANIFEST} when it is not JSON
   */
  public static Referrer referrer(Digest subject, Digest digest, String mediaType, byte[] body) {
    JsonNode root;
    try {
      root = JSON.readTree(body);
    } catch (IOException e) {
      root = null;
    }
    if (root == null || !root.isObject()) {
      throw new VerificationException(
          Reason.INVALID_MANIFEST, subject, "listed referrer " + digest + " is not a JSON object");
    }
    String claimed = root.path("subject").path("digest").asText(null);
    if (!subject.toString().equals(claimed)) {
      throw new VerificationException(
          Reason.SUBJECT_MISMATCH,
          subject,
          "listed referrer " + digest + " has subject " + claimed);
    }
    JsonNode type = root.path("artifactType");
    JsonNode configType = root.path("config").path("mediaType");
    String artifactType =
        type.isTextual()
            ? type.asText()
            : !MediaTypes.isIndex(mediaType) && configType.isTextual() ? configType.asText() : null;
    Map<String, String> annotations = new TreeMap<>();
    root.path("annotations")
        .fields()
        .forEachRemaining(
            e -> {
              if (e.getValue().isTextual()) {
                annotations.put(e.getKey(), e.getValue().asText());
              }
            });
    return new Referrer(mediaType, digest, body.length, artifactType, annotations);
  }

  /** Only the referrers of {@code artifactType}. */
  public Referrers filtered(String artifactType) {
    return new Referrers(
        subject,
        manifests.stream().filter(r -> artifactType.equals(r.artifactType())).toList(),
        stale);
  }

  public Referrers asStale() {
    return new Referrers(subject, manifests, true);
  }

  public byte[] indexJson() {
    ObjectNode root =
        JSON.createObjectNode().put("schemaVersion", 2).put("mediaType", MediaTypes.OCI_INDEX);
    writeManifests(root.putArray("manifests"), manifests);
    try {
      return JSON.writeValueAsBytes(root);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e); // a tree of strings and numbers always serialises
    }
  }

  /** The descriptors of {@code referrers}, as the index lists them (and the store keeps them). */
  static void writeManifests(ArrayNode list, List<Referrer> referrers) {
    for (Referrer r : referrers) {
      ObjectNode d =
          list.addObject()
              .put("mediaType", r.mediaType())
              .put("digest", r.digest().toString())
              .put("size", r.size());
      if (r.artifactType() != null) {
        d.put("artifactType", r.artifactType());
      }
      if (!r.annotations().isEmpty()) {
        ObjectNode a = d.putObject("annotations");
        r.annotations().forEach(a::put);
      }
    }
  }

  /**
   * One descriptor as {@link #writeManifests} wrote it.
   *
   * @throws IllegalArgumentException when any field is missing or malformed
   */
  static Referrer readReferrer(JsonNode d) {
    JsonNode type = d.path("mediaType");
    JsonNode digest = d.path("digest");
    JsonNode size = d.path("size");
    JsonNode artifactType = d.path("artifactType");
    JsonNode annotations = d.path("annotations");
    if (!type.isTextual()
        || !digest.isTextual()
        || !size.canConvertToExactIntegral()
        || size.asLong() < 0
        || !(artifactType.isMissingNode() || artifactType.isTextual())
        || !(annotations.isMissingNode() || annotations.isObject())) {
      throw new IllegalArgumentException("a malformed referrer descriptor");
    }
    Map<String, String> a = new TreeMap<>();
    for (var it = annotations.fields(); it.hasNext(); ) {
      var e = it.next();
      if (!e.getValue().isTextual()) {
        throw new IllegalArgumentException("a referrer annotation that is not a string");
      }
      a.put(e.getKey(), e.getValue().asText());
    }
    return new Referrer(
        type.asText(),
        Digest.parse(digest.asText()),
        size.asLong(),
        artifactType.isTextual() ? artifactType.asText() : null,
        a);
  }
}
