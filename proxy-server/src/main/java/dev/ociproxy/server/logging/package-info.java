/** Logback set-up from the config: log level and JSON lines. */
@NullMarked
package dev.ociproxy.server.logging;

import org.jspecify.annotations.NullMarked;
