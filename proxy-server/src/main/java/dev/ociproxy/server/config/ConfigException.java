package dev.ociproxy.server.config;

/** A configuration problem, with a message that names the offending key. */
public final class ConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public ConfigException(String key, String problem) {
    super(key + ": " + problem);
  }
}
