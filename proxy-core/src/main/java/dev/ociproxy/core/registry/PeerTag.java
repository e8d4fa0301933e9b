package dev.ociproxy.core.registry;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ociproxy.core.oci.Digest;
import java.io.IOException;
import java.util.Map;

/**
 * What the replica owning a tag answers a peer that asks what the tag names: the digest and media
 * type of its verified manifest and when the owner last verified the mapping with the upstream. On
 * the wire a small JSON object. The asking replica takes it only as "which digest to fetch": it
 * fetches and hashes the manifest itself.
 *
 * @param verifiedAtMillis when the owner last had the mapping confirmed by the upstream, so the
 *     fleet's copies go stale together and the owner asks the upstream once per freshness period
 */
public record PeerTag(Digest digest, String mediaType, long verifiedAtMillis) {
  /** The largest answer read: a few hundred bytes are expected. */
  static final int MAX_BYTES = 4096;

  private static final ObjectMapper JSON = new ObjectMapper();

  public PeerTag {
    requireNonNull(digest, "digest");
    requireNonNull(mediaType, "mediaType");
  }

  public byte[] encode() {
    try {
      return JSON.writeValueAsBytes(
          Map.of(
              "digest", digest.toString(),
              "mediaType", mediaType,
              "verifiedAt", verifiedAtMillis));
    } catch (IOException e) {
      throw new IllegalStateException(e); // a map of strings and a number
    }
  }

  /**
   * The answer {@link #encode} wrote.
   *
   * @throws IOException or a RuntimeException (a bad digest, no media type) when it is not one
   */
  static PeerTag decode(byte[] body) throws IOException {
    JsonNode n = JSON.readTree(body);
    String mediaType = n.path("mediaType").asText("");
    if (mediaType.isEmpty() || !n.path("verifiedAt").canConvertToLong()) {
      throw new IOException("not a tag answer: " + n);
    }
    return new PeerTag(
        Digest.parse(n.path("digest").asText()), mediaType, n.path("verifiedAt").asLong());
  }
}
