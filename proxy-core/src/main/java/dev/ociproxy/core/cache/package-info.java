/** The verified-only disk cache, in-flight downloads and the tag index. */
package dev.ociproxy.core.cache;
