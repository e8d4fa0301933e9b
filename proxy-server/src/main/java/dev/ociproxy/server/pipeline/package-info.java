/**
 * The client pipeline: named Netty handlers from framing and malformed-request rejection to the
 * registry handler that routes, authorizes and dispatches each request, and the response classes
 * that render its answer.
 */
@NullMarked
package dev.ociproxy.server.pipeline;

import org.jspecify.annotations.NullMarked;
