/** The Netty HTTP client for upstream registries: pooling, token flow, safe redirects. */
package dev.ociproxy.core.upstream;
