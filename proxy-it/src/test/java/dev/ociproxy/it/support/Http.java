package dev.ociproxy.it.support;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntPredicate;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;
import org.awaitility.core.TerminalFailureException;

/** Small blocking HTTP/1.1 helpers for readiness checks and direct registry requests in tests. */
public final class Http {

  private static final HttpClient CLIENT =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1) // no h2c upgrade attempts against the registries
          .connectTimeout(Duration.ofSeconds(5))
          .followRedirects(HttpClient.Redirect.NEVER)
          .build();

  private Http() {}

  public static HttpClient client() {
    return CLIENT;
  }

  /** Accept header value that lets a registry serve every manifest and index media type. */
  public static final String ACCEPT_MANIFESTS =
      String.join(
          ",",
          "application/vnd.oci.image.index.v1+json",
          "application/vnd.oci.image.manifest.v1+json",
          "application/vnd.docker.distribution.manifest.list.v2+json",
          "application/vnd.docker.distribution.manifest.v2+json");

  /**
   * GETs {@code url} with {@code headers} (name, value, name, value...) and returns the response,
   * or empty if no HTTP answer came (refused, reset, timeout).
   */
  public static Optional<HttpResponse<byte[]>> tryGet(String url, String... headers) {
    HttpRequest.Builder builder =
        HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).GET();
    if (headers.length > 0) {
      builder.headers(headers);
    }
    HttpRequest request = builder.build();
    try {
      return Optional.of(CLIENT.send(request, HttpResponse.BodyHandlers.ofByteArray()));
    } catch (IOException e) {
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
  }

  /**
   * Returns the HTTP status of GET {@code url} (with optional header pairs), or -1 if nothing
   * answered.
   */
  public static int status(String url, String... headers) {
    return tryGet(url, headers).map(HttpResponse::statusCode).orElse(-1);
  }

  /** GETs a manifest accepting every manifest media type; throws if nothing answered. */
  public static HttpResponse<byte[]> getManifest(String url) {
    return tryGet(url, "Accept", ACCEPT_MANIFESTS)
        .orElseThrow(() -> new IllegalStateException("no answer from " + url));
  }

  /**
   * Polls GET {@code url} until its status satisfies {@code ready}; fails early with the process's
   * log when {@code process} dies, and with the log after {@code timeout}.
   */
  public static void await(
      String url, IntPredicate ready, ManagedProcess process, Duration timeout) {
    AtomicInteger last = new AtomicInteger(-1);
    try {
      Awaitility.await(url)
          .atMost(timeout)
          .pollDelay(Duration.ZERO)
          .pollInterval(Duration.ofMillis(100))
          .failFast(() -> !process.isAlive())
          .until(
              () -> {
                int s = status(url);
                last.set(s);
                // Alive after the answer too: otherwise a stranger that took our port answered.
                return s >= 0 && ready.test(s) && process.isAlive();
              });
    } catch (TerminalFailureException e) {
      throw new IllegalStateException(
          process.name() + " exited before " + url + " answered\n" + process.describe(), e);
    } catch (ConditionTimeoutException e) {
      throw new IllegalStateException(
          process.name()
              + ": "
              + url
              + " not ready after "
              + timeout
              + " (last status "
              + last.get()
              + ")\n"
              + process.describe(),
          e);
    }
  }

  /** Polls until nothing answers at {@code url} any more, up to {@code timeout}. */
  public static boolean awaitDown(String url, Duration timeout) {
    try {
      Awaitility.await()
          .atMost(timeout)
          .pollInterval(Duration.ofMillis(100))
          .until(() -> status(url) < 0);
      return true;
    } catch (ConditionTimeoutException e) {
      return false;
    }
  }
}
