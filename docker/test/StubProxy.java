import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Stands in for registry-proxy.jar in docker/test-image.sh --stub: answers GET /v2/ and writes a
 * probe file into the cache dir.
 *
 * <p>Why: it checks the image's plumbing (entrypoint arguments, non-root user, writable cache
 * volume, HEALTHCHECK) before the real proxy exists; it proves nothing about the proxy itself.
 * It reads only the {@code listen:} and {@code dir:} lines of the config.
 */
public final class StubProxy {
  private StubProxy() {}

  public static void main(String[] args) throws Exception {
    if (args.length == 1 && args[0].equals("--training-run")) {
      return; // the image's class-data training run: nothing to record for a stand-in
    }
    if (args.length != 2 || !args[0].equals("--config")) {
      throw new IllegalArgumentException("args: " + List.of(args) + " (expected: --config FILE)");
    }
    String listen = value(Path.of(args[1]), "listen:");
    Path cacheDir = Path.of(value(Path.of(args[1]), "dir:"));
    Files.createDirectories(cacheDir.resolve("tmp"));
    Files.writeString(cacheDir.resolve("tmp/stub-probe"), "written by " + System.getProperty("user.name"));
    int colon = listen.lastIndexOf(':');
    HttpServer server = HttpServer.create(
        new InetSocketAddress(listen.substring(0, colon), Integer.parseInt(listen.substring(colon + 1))), 0);
    server.createContext("/", exchange -> {
      boolean v2 = exchange.getRequestURI().getPath().equals("/v2/");
      byte[] body = (v2 ? "{}" : "{\"errors\":[{\"code\":\"UNSUPPORTED\"}]}").getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "application/json");
      exchange.getResponseHeaders().set("Docker-Distribution-API-Version", "registry/2.0");
      exchange.sendResponseHeaders(v2 ? 200 : 404, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    server.start();
    System.out.println("stub proxy listening on " + listen);
  }

  private static String value(Path config, String key) throws Exception {
    return Files.readAllLines(config).stream()
        .map(String::strip)
        .filter(l -> l.startsWith(key))
        .map(l -> l.substring(key.length()).strip().replace("\"", ""))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException(config + ": no " + key));
  }
}
