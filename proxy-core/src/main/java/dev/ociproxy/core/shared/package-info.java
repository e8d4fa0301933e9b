/**
 * The shared tier: a verified content store on an S3-compatible object store that many replicas
 * share. What goes in was verified here; what comes out is verified again, as from an upstream.
 */
@NullMarked
package dev.ociproxy.core.shared;

import org.jspecify.annotations.NullMarked;
