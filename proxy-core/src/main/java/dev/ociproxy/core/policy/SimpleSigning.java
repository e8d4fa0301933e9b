package dev.ociproxy.core.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ociproxy.core.oci.Descriptor;
import dev.ociproxy.core.oci.Digest;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * cosign's classic signature format: a manifest under the tag {@code sha256-<hex>.sig} whose layers
 * are simple-signing payloads ({@code application/vnd.dev.cosign.simplesigning.v1+json}), each with
 * its base64 signature in the {@code dev.cosignproject.cosign/signature} annotation. The payload
 * names the signed manifest in {@code critical.image.docker-manifest-digest} and the image in
 * {@code critical.identity.docker-reference}.
 */
final class SimpleSigning {
  static final String PAYLOAD_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json";
  static final String SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature";

  /** More layers than any real signature manifest has; the rest are ignored. */
  static final int MAX_LAYERS = 64;

  private static final ObjectMapper JSON = new ObjectMapper();

  /** A payload layer and its signature, as listed in the signature manifest. */
  record Layer(Descriptor payload, byte[] signature) {}

  private SimpleSigning() {}

  /** The tag cosign keeps the signatures of {@code digest} under. */
  static String tagFor(Digest digest) {
    return digest.algorithm().id() + "-" + digest.hex() + ".sig";
  }

  /**
   * The signed payload layers of a signature manifest (verified bytes, but the upstream's choice);
   * layers of other types, without a signature, or with one that is not base64 are left out.
   */
  static List<Layer> layers(byte[] manifest) {
    JsonNode root;
    try {
      root = JSON.readTree(manifest);
    } catch (IOException e) {
      return List.of();
    }
    List<Layer> out = new ArrayList<>();
    for (JsonNode l : root.path("layers")) {
      if (out.size() == MAX_LAYERS) {
        break;
      }
      String sig = l.path("annotations").path(SIGNATURE_ANNOTATION).asText("");
      if (!PAYLOAD_TYPE.equals(l.path("mediaType").asText()) || sig.isEmpty()) {
        continue;
      }
      try {
        Digest d = Digest.parse(l.path("digest").asText());
        long size = l.path("size").asLong(-1);
        if (size < 0) {
          continue;
        }
        out.add(
            new Layer(
                new Descriptor(PAYLOAD_TYPE, d, size, null), Base64.getDecoder().decode(sig)));
      } catch (RuntimeException e) {
        continue; // no digest, or a signature that is not base64: nothing a key could verify
      }
    }
    return out;
  }

  /** The envelope of one payload layer whose bytes were read. */
  static SignatureEnvelope envelope(String where, byte[] payload, byte[] signature) {
    try {
      JsonNode critical = JSON.readTree(payload).path("critical");
      String digest = critical.path("image").path("docker-manifest-digest").asText("");
      JsonNode ref = critical.path("identity").path("docker-reference");
      if (digest.isEmpty()) {
        return new SignatureEnvelope(
            where, payload, signature, null, "the payload names no docker-manifest-digest");
      }
      return new SignatureEnvelope(
          where,
          payload,
          signature,
          new SignatureEnvelope.Claim(
              List.of(Digest.parse(digest)), ref.isTextual() ? ref.asText() : null),
          null);
    } catch (IOException | RuntimeException e) {
      return new SignatureEnvelope(
          where, payload, signature, null, "the payload is not a simple-signing document");
    }
  }
}
