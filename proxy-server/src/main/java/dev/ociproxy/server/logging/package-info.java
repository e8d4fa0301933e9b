/** Logback set-up from the config: log level and JSON lines. */
package dev.ociproxy.server.logging;
