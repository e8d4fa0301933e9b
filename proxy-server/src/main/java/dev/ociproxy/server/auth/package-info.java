/** Client authentication (htpasswd, static tokens) and per-upstream access rules. */
@NullMarked
package dev.ociproxy.server.auth;

import org.jspecify.annotations.NullMarked;
