/**
 * The configuration file: bound with Jackson into records ({@code ConfigFile}), checked across
 * fields, and turned into the settings the server and the commands use. Every error names its key.
 */
@NullMarked
package dev.ociproxy.server.config;

import org.jspecify.annotations.NullMarked;
