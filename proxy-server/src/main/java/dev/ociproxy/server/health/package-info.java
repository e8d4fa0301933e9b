/**
 * Readiness: whether the proxy can serve pulls now (cache writable, upstream configured, not
 * stopping).
 */
@NullMarked
package dev.ociproxy.server.health;

import org.jspecify.annotations.NullMarked;
