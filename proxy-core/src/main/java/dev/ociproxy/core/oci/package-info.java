/**
 * The registry vocabulary: validated value types for digests, tags, repository names, media types
 * and the spec's error codes. Raw strings do not travel past the request router.
 */
@NullMarked
package dev.ociproxy.core.oci;

import org.jspecify.annotations.NullMarked;
