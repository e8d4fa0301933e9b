/**
 * The jar's one-shot subcommands ({@code warm}, {@code export}, {@code import}, {@code audit}):
 * each loads the same configuration as the server and works on the same cache through the same core
 * classes, then exits with 0 (all done), 1 (something failed or was refused) or 2 (bad usage).
 */
@NullMarked
package dev.ociproxy.server.cli;

import org.jspecify.annotations.NullMarked;
