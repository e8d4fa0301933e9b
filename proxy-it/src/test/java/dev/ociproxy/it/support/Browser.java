package dev.ociproxy.it.support;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Debian's headless chromium, driven by {@code playwright-core} from the npm registry (no browser
 * download: its {@code executablePath} is {@code /usr/bin/chromium}). The driver is {@code
 * proxy-it/browser/drive.mjs}; its npm dependencies are installed once per build into {@code
 * target/browser} with {@code npm ci} from the committed {@code package-lock.json}.
 */
public final class Browser {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  private static final Duration RUN_TIMEOUT = Duration.ofMinutes(3);

  /** What the page showed and did while the plan ran. */
  public record Seen(
      List<String> results,
      List<String> requests,
      List<String> console,
      List<String> pageErrors,
      List<String> dialogs,
      String url,
      List<String> cookies,
      String storage,
      boolean pwned) {
    public String result(int i) {
      return results.get(i);
    }
  }

  private Browser() {}

  public static Availability availability() {
    if (!Files.isExecutable(CHROMIUM)) {
      return Availability.unavailable(
          "no " + CHROMIUM + " (apt-get install chromium; proxy-it/scripts/install-it-deps.sh)");
    }
    return NodeProject.availability();
  }

  /** One step of a plan; see drive.mjs. */
  public static Map<String, Object> step(String kind, Object arg, Object... more) {
    Map<String, Object> s = new LinkedHashMap<>();
    s.put(kind, arg);
    for (int i = 0; i + 1 < more.length; i += 2) {
      s.put(String.valueOf(more[i]), more[i + 1]);
    }
    return s;
  }

  /**
   * Runs {@code steps} in a fresh 1280-pixel-wide context (JavaScript on or off); fails with the
   * driver's error.
   */
  public static Seen run(boolean javaScript, List<Map<String, Object>> steps) {
    return run(javaScript, 1280, steps);
  }

  /**
   * Runs {@code steps} in a fresh context {@code width} CSS pixels wide (640: a 1280 screen at 200%
   * zoom).
   */
  public static Seen run(boolean javaScript, int width, List<Map<String, Object>> steps) {
    Path dir = installed();
    try {
      byte[] plan =
          JSON.writeValueAsBytes(Map.of("javaScript", javaScript, "width", width, "steps", steps));
      Process p =
          new ProcessBuilder("node", "drive.mjs")
              .directory(dir.toFile())
              .redirectError(ProcessBuilder.Redirect.appendTo(dir.resolve("drive.log").toFile()))
              .start();
      p.getOutputStream().write(plan);
      p.getOutputStream().close();
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(RUN_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new AssertionError("the browser driver did not finish in " + RUN_TIMEOUT);
      }
      JsonNode n = JSON.readTree(out);
      if (n == null || n.hasNonNull("error")) {
        throw new AssertionError(
            "browser: "
                + (n == null ? new String(out, StandardCharsets.UTF_8) : n.get("error").asText())
                + "\nrequests: "
                + (n == null ? "" : n.path("requests"))
                + "\npage: "
                + (n == null ? "" : n.path("lastText").asText()));
      }
      return new Seen(
          strings(n.path("results")),
          strings(n.path("requests")),
          strings(n.path("console")),
          strings(n.path("pageErrors")),
          strings(n.path("dialogs")),
          n.path("url").asText(),
          strings(n.path("cookies")),
          n.path("storage").asText(),
          n.path("pwned").asBoolean());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  private static List<String> strings(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(x -> out.add(x.asText()));
    return out;
  }

  /** Copies the driver to target/browser and runs {@code npm ci} there once. */
  private static Path installed() {
    return NodeProject.installed("browser", "playwright-core/package.json", List.of("drive.mjs"));
  }
}
