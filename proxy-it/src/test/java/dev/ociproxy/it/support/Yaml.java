package dev.ociproxy.it.support;

import com.fasterxml.jackson.core.io.JsonStringEncoder;

/** Quoting for the YAML files the harness writes by hand (registry and proxy configs). */
final class Yaml {

  private Yaml() {}

  /**
   * Returns {@code s} as a double-quoted scalar; JSON string escapes are valid in YAML double
   * quotes.
   */
  static String quote(String s) {
    return "\"" + new String(JsonStringEncoder.getInstance().quoteAsString(s)) + "\"";
  }
}
