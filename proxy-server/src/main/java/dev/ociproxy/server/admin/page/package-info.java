/**
 * The status page on the admin listener: one section class per part of the page, rendered from the
 * server's state with everything that came from an upstream escaped.
 */
@NullMarked
package dev.ociproxy.server.admin.page;

import org.jspecify.annotations.NullMarked;
