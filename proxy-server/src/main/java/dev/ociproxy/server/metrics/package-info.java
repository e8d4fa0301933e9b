/** Prometheus registry set-up and the meters for client requests; tags never carry repository names or digests. */
package dev.ociproxy.server.metrics;
