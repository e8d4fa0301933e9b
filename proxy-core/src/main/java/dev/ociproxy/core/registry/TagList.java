package dev.ociproxy.core.registry;

/** A tags/list page, with the upstream's {@code Link} to the next page (null when last). */
public record TagList(byte[] json, String nextLink) {}
