/**
 * The air-gap gateway: warm the cache by image reference, carry it across the gap as an OCI image
 * layout (export / import, every byte verified on the way in), serve offline, and pin which digest a
 * tag may mean. Depends on {@code registry}, {@code cache} and {@code oci}; nothing depends on it
 * except the server's wiring and command line.
 */
package dev.ociproxy.core.airgap;
