/** Concurrency helpers shared by the registry and air-gap packages; depends on nothing of ours. */
package dev.ociproxy.core.concurrent;
