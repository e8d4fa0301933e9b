/**
 * The air-gap gateway: warm the cache by image reference, carry it across the gap as an OCI image
 * layout (export / import, every byte verified on the way in), serve offline ({@code CachedOnly}),
 * and pin which digest a tag may mean ({@code Pinned}); both are {@code Registry} views wrapping
 * the pull-through. Depends on {@code registry}, {@code cache} and {@code oci}; nothing depends on
 * it except {@code wiring}, the server and its command line.
 */
@NullMarked
package dev.ociproxy.core.airgap;

import org.jspecify.annotations.NullMarked;
