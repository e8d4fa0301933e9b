package dev.ociproxy.it;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A parsed Prometheus text exposition: series (name plus labels) to value, so a test can ask for a
 * counter by name and a subset of its labels.
 */
record PrometheusText(String text, Map<String, Series> series) {
  private static final Pattern LINE =
      Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)\\})?\\s+(\\S+)");
  private static final Pattern LABEL =
      Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

  /** One sample line. */
  record Series(String name, Map<String, String> labels, double value) {}

  static PrometheusText parse(String text) {
    Map<String, Series> out = new LinkedHashMap<>();
    for (String line : text.split("\n")) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      Matcher m = LINE.matcher(line.trim());
      if (!m.matches()) {
        throw new AssertionError("not a Prometheus sample line: " + line);
      }
      Map<String, String> labels = new TreeMap<>();
      if (m.group(3) != null) {
        Matcher l = LABEL.matcher(m.group(3));
        while (l.find()) {
          labels.put(l.group(1), l.group(2));
        }
      }
      out.put(m.group(1) + labels, new Series(m.group(1), labels, Double.parseDouble(m.group(4))));
    }
    return new PrometheusText(text, out);
  }

  /**
   * The sum over every series of {@code name} whose labels include all of {@code labels} (pairs).
   */
  double sum(String name, String... labels) {
    double total = 0;
    for (Series s : series.values()) {
      if (s.name().equals(name) && matches(s.labels(), labels)) {
        total += s.value();
      }
    }
    return total;
  }

  /** True when at least one series of {@code name} exists. */
  boolean has(String name) {
    return series.values().stream().anyMatch(s -> s.name().equals(name));
  }

  private static boolean matches(Map<String, String> have, String... want) {
    for (int i = 0; i + 1 < want.length; i += 2) {
      if (!want[i + 1].equals(have.get(want[i]))) {
        return false;
      }
    }
    return true;
  }
}
