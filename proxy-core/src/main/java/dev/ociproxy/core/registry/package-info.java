/** Per-upstream proxy logic: verified manifests, shared blob downloads, tag lists. */
package dev.ociproxy.core.registry;
