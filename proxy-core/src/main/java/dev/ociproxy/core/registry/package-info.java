/**
 * What one upstream is served through: the {@code Registry} interface, and its pull-through
 * implementation (verified manifests, shared blob downloads, tag lists) with its meters.
 */
@NullMarked
package dev.ociproxy.core.registry;

import org.jspecify.annotations.NullMarked;
