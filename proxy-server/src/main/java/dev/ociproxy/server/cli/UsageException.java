package dev.ociproxy.server.cli;

import org.jspecify.annotations.Nullable;

/** A command line or configuration the command cannot run with; exit code 2. */
final class UsageException extends Exception {
  private static final long serialVersionUID = 1L;

  UsageException(@Nullable String message) {
    super(message);
  }
}
