package dev.ociproxy.server;

import dev.ociproxy.server.config.ConfigException;
import dev.ociproxy.server.config.ConfigLoader;
import dev.ociproxy.server.config.ProxyConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;

/** Command line entry: {@code java -jar registry-proxy.jar [--config FILE] [--check-config]}. */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
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
        case "--help", "-h" -> {
          System.out.println("usage: java -jar registry-proxy.jar [--config proxy.yaml] [--check-config]");
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
      System.out.println("configuration OK: " + config.upstreams().size() + " upstream(s), listen " + config.listen());
      return;
    }
    ProxyServer server = new ProxyServer(config, new SimpleMeterRegistry());
    try {
      server.start();
    } catch (Exception e) {
      server.close();
      fail("cannot start: " + e.getMessage());
    }
    Runtime.getRuntime().addShutdownHook(new Thread(server::close, "shutdown"));
  }

  private static void fail(String message) {
    System.err.println("registry-proxy: " + message);
    System.exit(2);
  }
}
