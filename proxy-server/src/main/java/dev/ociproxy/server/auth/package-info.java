/** Client authentication (htpasswd, static tokens) and per-upstream access rules. */
package dev.ociproxy.server.auth;
