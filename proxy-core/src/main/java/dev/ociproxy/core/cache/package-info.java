/** The verified-only disk cache, in-flight downloads and the tag index. */
@NullMarked
package dev.ociproxy.core.cache;

import org.jspecify.annotations.NullMarked;
