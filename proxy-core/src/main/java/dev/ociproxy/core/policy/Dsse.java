package dev.ociproxy.core.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ociproxy.core.oci.Algorithm;
import dev.ociproxy.core.oci.Digest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * cosign's bundle format ({@code application/vnd.dev.sigstore.bundle.v0.3+json}), as a referrer of
 * the signed manifest: a DSSE envelope over an in-toto statement whose subjects name the manifest
 * by digest. The signature covers the envelope's pre-authentication encoding (PAE) of the payload
 * type and payload, never the JSON around it. Only keyed verification: the bundle's certificate and
 * transparency-log entries are not used.
 */
final class Dsse {
  static final String BUNDLE_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json";

  /** More signatures than one envelope carries in practice; the rest are ignored. */
  static final int MAX_SIGNATURES = 16;

  private static final ObjectMapper JSON = new ObjectMapper();

  private Dsse() {}

  /** True for the media types a bundle travels under (v0.1 to v0.3). */
  static boolean isBundle(String mediaType) {
    return mediaType.startsWith("application/vnd.dev.sigstore.bundle");
  }

  /**
   * DSSE's pre-authentication encoding: {@code DSSEv1 SP len(type) SP type SP len(body) SP body}.
   */
  static byte[] pae(String payloadType, byte[] payload) {
    byte[] type = payloadType.getBytes(StandardCharsets.UTF_8);
    ByteArrayOutputStream out = new ByteArrayOutputStream(payload.length + type.length + 32);
    out.writeBytes(
        ("DSSEv1 " + type.length + " " + payloadType + " " + payload.length + " ")
            .getBytes(StandardCharsets.UTF_8));
    out.writeBytes(payload);
    return out.toByteArray();
  }

  /** The envelopes of one bundle (one per DSSE signature); empty when it holds no DSSE envelope. */
  static List<SignatureEnvelope> envelopes(String where, byte[] bundle) {
    JsonNode env;
    byte[] payload;
    String type;
    try {
      env = JSON.readTree(bundle).path("dsseEnvelope");
      type = env.path("payloadType").asText("");
      payload = Base64.getDecoder().decode(env.path("payload").asText(""));
    } catch (IOException | IllegalArgumentException e) {
      return List.of();
    }
    if (type.isEmpty() || payload.length == 0) {
      return List.of();
    }
    byte[] signed = pae(type, payload);
    SignatureEnvelope.Claim claim = statement(payload);
    List<SignatureEnvelope> out = new ArrayList<>();
    for (JsonNode s : env.path("signatures")) {
      if (out.size() == MAX_SIGNATURES) {
        break;
      }
      byte[] sig;
      try {
        sig = Base64.getDecoder().decode(s.path("sig").asText(""));
      } catch (IllegalArgumentException e) {
        continue;
      }
      out.add(
          new SignatureEnvelope(
              where,
              signed,
              sig,
              claim,
              claim == null ? "the envelope's payload is not an in-toto statement" : null));
    }
    return out;
  }

  /**
   * The in-toto statement's subjects: their sha256 (or sha512) digests, and the name of the first
   * that has one as the claimed identity.
   */
  private static SignatureEnvelope.@Nullable Claim statement(byte[] payload) {
    JsonNode root;
    try {
      root = JSON.readTree(payload);
    } catch (IOException e) {
      return null;
    }
    if (!root.path("_type").asText("").startsWith("https://in-toto.io/Statement/")) {
      return null;
    }
    List<Digest> digests = new ArrayList<>();
    @Nullable String name = null;
    for (JsonNode subject : root.path("subject")) {
      for (Algorithm a : Algorithm.values()) {
        String hex = subject.path("digest").path(a.id()).asText("").toLowerCase(Locale.ROOT);
        if (!hex.isEmpty()) {
          try {
            digests.add(Digest.parse(a.id() + ":" + hex));
          } catch (RuntimeException e) {
            continue; // not a digest of this algorithm: names nothing
          }
          if (name == null && subject.path("name").isTextual()) {
            name = subject.path("name").asText();
          }
        }
      }
    }
    return digests.isEmpty() ? null : new SignatureEnvelope.Claim(digests, name);
  }
}
