/** Hash-while-streaming verification and the reporting of refused content. */
@NullMarked
package dev.ociproxy.core.verify;

import org.jspecify.annotations.NullMarked;
