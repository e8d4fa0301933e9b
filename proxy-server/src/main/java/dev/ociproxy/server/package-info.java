/**
 * The proxy server: {@link dev.ociproxy.server.Main} (the jar's entry point), {@link
 * dev.ociproxy.server.ProxyServer} (the listeners and their lifecycle) and the signal handling that
 * stops it gracefully.
 */
@NullMarked
package dev.ociproxy.server;

import org.jspecify.annotations.NullMarked;
