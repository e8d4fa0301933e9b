/**
 * Prometheus registry set-up and the meters for client requests; tags never carry repository names
 * or digests.
 */
@NullMarked
package dev.ociproxy.server.metrics;

import org.jspecify.annotations.NullMarked;
