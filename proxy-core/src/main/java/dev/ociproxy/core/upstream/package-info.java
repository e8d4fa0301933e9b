/** The Netty HTTP client for upstream registries: pooling, token flow, safe redirects. */
@NullMarked
package dev.ociproxy.core.upstream;

import org.jspecify.annotations.NullMarked;
