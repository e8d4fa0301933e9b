package dev.ociproxy.server.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.function.BinaryOperator;

/** A mapping in the configuration tree, with the key path its error messages name. */
final class ConfigNode {
  final String path;
  final JsonNode node;
  private final BinaryOperator<String> substitute;

  /** @param substitute replaces {@code ${VAR}} references in a value: (key, value) -> value */
  ConfigNode(String path, JsonNode node, BinaryOperator<String> substitute) {
    if (!node.isMissingNode() && !node.isObject()) {
      throw new ConfigException(path.isEmpty() ? "(file)" : path, "expected a mapping of keys");
    }
    this.path = path;
    this.node = node;
    this.substitute = substitute;
  }

  String key(String k) {
    return path.isEmpty() ? k : path + "." + k;
  }

  void only(String... allowed) {
    Set<String> ok = Set.of(allowed);
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
      String k = it.next().getKey();
      if (!ok.contains(k)) {
        throw new ConfigException(key(k), "unknown key (known here: " + String.join(", ", allowed) + ")");
      }
    }
  }

  ConfigNode obj(String k) {
    return new ConfigNode(key(k), node.path(k), substitute);
  }

  /** The {@code i}th element of the list under {@code k}, as a mapping ({@code k[i]}). */
  ConfigNode element(String k, int i) {
    return new ConfigNode(key(k) + "[" + i + "]", node.path(k).path(i), substitute);
  }

  String text(String k, String dflt) {
    JsonNode v = node.path(k);
    if (v.isMissingNode() || v.isNull()) {
      return dflt;
    }
    if (!v.isValueNode()) {
      throw new ConfigException(key(k), "expected a single value");
    }
    return substitute.apply(key(k), v.asText());
  }

  String required(String k) {
    String v = text(k, null);
    if (v == null || v.isBlank()) {
      throw new ConfigException(key(k), "missing (required)");
    }
    return v;
  }

  boolean bool(String k, boolean dflt) {
    JsonNode v = node.path(k);
    if (v.isMissingNode() || v.isNull()) {
      return dflt;
    }
    if (v.isBoolean()) {
      return v.asBoolean();
    }
    // Quoted or substituted from ${ENV}: accept the words too.
    String text = v.isTextual() ? substitute.apply(key(k), v.asText()).trim() : "";
    if (text.equals("true") || text.equals("false")) {
      return Boolean.parseBoolean(text);
    }
    throw new ConfigException(key(k), "'" + v.asText() + "' (expected true or false)");
  }

  Duration duration(String k, Duration dflt) {
    String v = text(k, null);
    return v == null ? dflt : ConfigLoader.parseDuration(key(k), v);
  }

  int positiveInt(String k, int dflt) {
    String v = text(k, null);
    if (v == null) {
      return dflt;
    }
    try {
      int n = Integer.parseInt(v.trim());
      if (n > 0) {
        return n;
      }
    } catch (NumberFormatException e) {
      // fall through to the message
    }
    throw new ConfigException(key(k), "'" + v + "' (expected a positive whole number)");
  }

  long size(String k, long dflt) {
    String v = text(k, null);
    return v == null ? dflt : ConfigLoader.parseSize(key(k), v);
  }
}
