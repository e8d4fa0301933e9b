/** Hash-while-streaming verification and the reporting of refused content. */
package dev.ociproxy.core.verify;
