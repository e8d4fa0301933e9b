package dev.ociproxy.server.config;

import org.jspecify.annotations.Nullable;

/** A configuration problem, with a message that names the offending key. */
public final class ConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** {@code problem} may be an exception's message, which may be missing. */
  public ConfigException(String key, @Nullable String problem) {
    super(key + ": " + problem);
  }
}
