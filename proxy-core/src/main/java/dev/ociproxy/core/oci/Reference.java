package dev.ociproxy.core.oci;

/** What {@code /manifests/<reference>} names: a tag or a digest. */
public sealed interface Reference permits Tag, Digest {

  /** Parses a manifest reference; a string with ':' must be a digest. */
  static Reference parse(String s) {
    return Digest.looksLikeDigest(s) ? Digest.parse(s) : new Tag(s);
  }
}
