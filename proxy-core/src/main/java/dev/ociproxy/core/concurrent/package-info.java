/** Concurrency helpers shared by the registry and air-gap packages; depends on nothing of ours. */
@NullMarked
package dev.ociproxy.core.concurrent;

import org.jspecify.annotations.NullMarked;
