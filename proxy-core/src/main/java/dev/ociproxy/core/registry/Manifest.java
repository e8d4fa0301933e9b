package dev.ociproxy.core.registry;

import dev.ociproxy.core.oci.Digest;

/**
 * A verified manifest ready to serve.
 *
 * @param stale true when served from the last verified tag mapping because the upstream failed
 */
// The body is bytes to serve: a Manifest is never compared or hashed, only read.
@SuppressWarnings("ArrayRecordComponent")
public record Manifest(
    Digest digest, String mediaType, byte[] body, boolean fromCache, boolean stale) {}
