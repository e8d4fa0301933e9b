/** Listener TLS: PEM certificate and key, checked at load and reloaded when renewed on disk. */
@NullMarked
package dev.ociproxy.server.tls;

import org.jspecify.annotations.NullMarked;
