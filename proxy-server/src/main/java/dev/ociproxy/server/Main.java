package dev.ociproxy.server;

import dev.ociproxy.server.cli.Subcommands;
import dev.ociproxy.server.config.ConfigException;
import dev.ociproxy.server.config.ConfigLoader;
import dev.ociproxy.server.config.ProxyConfig;
import dev.ociproxy.server.logging.LogSetup;
import dev.ociproxy.server.metrics.ServerMeters;
import dev.ociproxy.server.warmup.WarmUp;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/** Command line entry: {@code java -jar registry-proxy.jar [--config FILE] [--check-config]}. */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && Subcommands.isSubcommand(args[0])) {
      System.exit(Subcommands.run(args));
    }
    Path configFile = null;
    boolean checkOnly = false;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--config", "-c" -> {
          if (i + 1 >= args.length) {
            fail("--config needs a file name");
          }
          configFile = Path.of(args[++i]);
        }
        case "--check-config" -> checkOnly = true;
        case "--training-run" -> {
          try {
            WarmUp.training(ServerMeters.create());
          } catch (Exception | Error e) {
            e.printStackTrace();
            System.exit(1);
          }
          System.exit(0);
        }
        case "--help", "-h" -> {
          System.out.println(
              "usage: java -jar registry-proxy.jar [--config proxy.yaml] [--check-config]");
          System.out.println(
              "       java -jar registry-proxy.jar warm|export|import|audit --config proxy.yaml … (--help)");
          System.out.println(
              "       java -XX:ArchiveClassesAtExit=proxy.jsa -jar registry-proxy.jar --training-run");
          return;
        }
        default -> fail("unknown argument: " + args[i] + " (try --help)");
      }
    }
    ProxyConfig config;
    try {
      ConfigLoader loader = ConfigLoader.withSystemEnv();
      config = configFile == null ? loader.defaults() : loader.load(configFile);
    } catch (ConfigException e) {
      fail("invalid configuration: " + e.getMessage());
      return;
    }
    if (checkOnly) {
      System.out.println("configuration OK: " + describe(config));
      return;
    }
    LogSetup.apply(config.operations().logFormat(), config.operations().logLevel());
    ProxyServer server = new ProxyServer(config, ServerMeters.create());
    Duration warmUp = config.operations().startupWarmUp();
    CompletableFuture<WarmUp.Report> warmed = new CompletableFuture<>();
    if (!warmUp.isZero()) {
      LogSetup.quietBelowWarn(WarmUp.THREADS, WarmUp.class.getName());
      server.holdReadiness(warmed, "warming up");
    }
    try {
      server.start();
    } catch (Exception e) {
      server.close();
      fail("cannot start: " + e.getMessage());
    }
    if (!warmUp.isZero()) {
      // After the bind: the first answer does not wait for it, only readiness does.
      WarmUp.atStart(config.cacheDir(), warmUp).thenAccept(warmed::complete);
    } else {
      WarmUp.removeLeftovers(config.cacheDir());
    }
    ShutdownSignals.install(server, config.operations().shutdownGracePeriod());
  }

  /** One line that tells the operator what the checked file sets up. */
  private static String describe(ProxyConfig config) {
    ProxyConfig.Operations ops = config.operations();
    return config.upstreams().size()
        + " upstream(s), listen "
        + hostPort(config.listen())
        + (ops.tls() != null ? " (https, certificate " + ops.tls().cert() + ")" : " (http)")
        + ", metrics and health on "
        + (ops.adminListen() != null ? hostPort(ops.adminListen()) : "the main listener")
        + ", cache "
        + config.cacheDir()
        + ", log format "
        + ops.logFormat().name().toLowerCase(java.util.Locale.ROOT);
  }

  private static String hostPort(java.net.InetSocketAddress a) {
    return a.getHostString() + ":" + a.getPort();
  }

  private static void fail(String message) {
    System.err.println("registry-proxy: " + message);
    System.exit(2);
  }
}
