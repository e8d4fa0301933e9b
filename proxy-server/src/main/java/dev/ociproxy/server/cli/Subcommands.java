package dev.ociproxy.server.cli;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Dispatches {@code java -jar registry-proxy.jar <subcommand> …}; without a subcommand the jar
 * serves (see {@code Main}). Exit codes: 0 done, 1 something failed or was refused, 2 bad usage.
 */
public final class Subcommands {
  private static final Set<String> NAMES = Set.of("warm", "export", "import", "audit", "unused");

  private Subcommands() {}

  /** True when {@code arg} (the first command line argument) names a subcommand. */
  public static boolean isSubcommand(String arg) {
    return NAMES.contains(arg);
  }

  /**
   * Runs {@code args[0]} with the rest; returns the exit code. Output goes to stdout, logs to
   * stderr.
   */
  public static int run(String[] args) {
    return run(args, System.out, System.err);
  }

  static int run(String[] args, PrintStream out, PrintStream err) {
    String name = args[0];
    List<String> rest = Arrays.asList(args).subList(1, args.length);
    if (rest.contains("--help") || rest.contains("-h")) {
      out.println(usage(name));
      return 0;
    }
    try {
      return switch (name) {
        case "warm" -> WarmCommand.run(rest, out);
        case "export" -> ExportCommand.run(rest, out);
        case "import" -> ImportCommand.run(rest, out);
        case "audit" -> AuditCommand.run(rest, out);
        case "unused" -> UnusedCommand.run(rest, out);
        default -> throw new UsageException("unknown subcommand " + name);
      };
    } catch (UsageException e) {
      err.println("registry-proxy " + name + ": " + e.getMessage());
      err.println(usage(name));
      return 2;
    } finally {
      out.flush();
    }
  }

  private static String usage(String name) {
    return switch (name) {
      case "warm" -> WarmCommand.USAGE;
      case "export" -> ExportCommand.USAGE;
      case "import" -> ImportCommand.USAGE;
      case "audit" -> AuditCommand.USAGE;
      case "unused" -> UnusedCommand.USAGE;
      default -> "subcommands: warm, export, import, audit, unused";
    };
  }
}
