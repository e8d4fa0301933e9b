/** Readiness: whether the proxy can serve pulls now (cache writable, upstream configured, not stopping). */
package dev.ociproxy.server.health;
