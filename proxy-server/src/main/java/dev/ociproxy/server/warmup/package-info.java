/**
 * Synthetic pulls through a throwaway copy of the proxy, in front of a small in-process registry:
 * at start, before {@code /readyz} turns ready, so the JIT has compiled the hot paths before real
 * clients arrive, and in the build's training run, which records the class-data archive.
 */
@NullMarked
package dev.ociproxy.server.warmup;

import org.jspecify.annotations.NullMarked;
