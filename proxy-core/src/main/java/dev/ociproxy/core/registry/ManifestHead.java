package dev.ociproxy.core.registry;

import dev.ociproxy.core.oci.Digest;

/**
 * What a client's {@code HEAD} of a manifest is answered with: a {@link Manifest} without its body.
 *
 * @param fromCache false when the digest, type and length are the upstream's answer to our own HEAD
 *     of a moved tag (not fetched: the client verifies the digest when it GETs it)
 * @param stale true when served from the last verified tag mapping because the upstream failed
 */
public record ManifestHead(
    Digest digest, String mediaType, long length, boolean fromCache, boolean stale) {
  public static ManifestHead of(Manifest m) {
    return new ManifestHead(m.digest(), m.mediaType(), m.body().length, m.fromCache(), m.stale());
  }
}
