/**
 * The admin plane: {@code /metrics}, {@code /healthz}, {@code /readyz} and, on the admin listener
 * only, the admin actions ({@code POST /admin/warm}, {@code GET /admin/drift}).
 */
@NullMarked
package dev.ociproxy.server.admin;

import org.jspecify.annotations.NullMarked;
