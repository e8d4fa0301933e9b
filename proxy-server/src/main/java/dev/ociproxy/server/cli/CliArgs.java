package dev.ociproxy.server.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/** Options ({@code --name value}, {@code --name=value}, repeatable) and positional arguments. */
final class CliArgs {
  private final Map<String, List<String>> values = new LinkedHashMap<>();
  private final List<String> positional = new ArrayList<>();

  private CliArgs() {}

  /**
   * @param valued options that take a value ({@code -c} means {@code --config})
   * @param flags options without a value
   */
  static CliArgs parse(List<String> args, Set<String> valued, Set<String> flags)
      throws UsageException {
    CliArgs a = new CliArgs();
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      if (arg.equals("--")) {
        a.positional.addAll(args.subList(i + 1, args.size()));
        break;
      }
      if (!arg.startsWith("-") || arg.equals("-")) {
        a.positional.add(arg);
        continue;
      }
      String name = arg.equals("-c") ? "--config" : arg;
      String value = null;
      int eq = name.indexOf('=');
      if (eq > 0) {
        value = name.substring(eq + 1);
        name = name.substring(0, eq);
      }
      if (flags.contains(name)) {
        if (value != null) {
          throw new UsageException(name + " takes no value");
        }
        a.values.computeIfAbsent(name, k -> new ArrayList<>()).add("true");
      } else if (valued.contains(name)) {
        if (value == null) {
          if (i + 1 >= args.size()) {
            throw new UsageException(name + " needs a value");
          }
          value = args.get(++i);
        }
        a.values.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
      } else {
        throw new UsageException("unknown option " + arg + " (try --help)");
      }
    }
    return a;
  }

  /** The last value of {@code name}, or null. */
  @Nullable String value(String name) {
    List<String> v = values.get(name);
    return v == null ? null : v.get(v.size() - 1);
  }

  List<String> values(String name) {
    return values.getOrDefault(name, List.of());
  }

  boolean flag(String name) {
    return values.containsKey(name);
  }

  List<String> positional() {
    return positional;
  }
}
