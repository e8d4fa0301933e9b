/** Listener TLS: PEM certificate and key, checked at load and reloaded when renewed on disk. */
package dev.ociproxy.server.tls;
