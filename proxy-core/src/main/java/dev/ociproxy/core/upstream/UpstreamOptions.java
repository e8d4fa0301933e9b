package dev.ociproxy.core.upstream;

import static java.util.Objects.requireNonNull;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * How to reach and authenticate to one upstream registry.
 *
 * @param name the name clients use to address it (e.g. {@code docker.io})
 * @param url its base URL (scheme, host, optional port)
 * @param username basic credentials, or null for anonymous
 * @param caFile extra PEM CA certificates to trust, or null for the JDK trust store only
 * @param trustedRealmHosts token realm hosts other than the upstream's own that may receive its
 *     credentials
 * @param readTimeout longest silence while reading a response
 * @param firstByteTimeout longest wait for the response headers after the request was sent
 */
public record UpstreamOptions(
    String name,
    URI url,
    @Nullable String username,
    @Nullable String password,
    @Nullable Path caFile,
    Duration connectTimeout,
    Duration readTimeout,
    Set<String> trustedRealmHosts,
    Duration firstByteTimeout) {

  public UpstreamOptions {
    requireNonNull(name, "name");
    requireNonNull(url, "url");
    requireNonNull(connectTimeout, "connectTimeout");
    requireNonNull(readTimeout, "readTimeout");
    trustedRealmHosts = trustedRealmHosts == null ? Set.of() : Set.copyOf(trustedRealmHosts);
    requireNonNull(firstByteTimeout, "firstByteTimeout");
  }

  public UpstreamOptions(
      String name,
      URI url,
      @Nullable String username,
      @Nullable String password,
      @Nullable Path caFile,
      Duration connectTimeout,
      Duration readTimeout,
      Set<String> trustedRealmHosts) {
    this(
        name,
        url,
        username,
        password,
        caFile,
        connectTimeout,
        readTimeout,
        trustedRealmHosts,
        readTimeout);
  }

  public static UpstreamOptions anonymous(String name, URI url) {
    return new UpstreamOptions(
        name, url, null, null, null, Duration.ofSeconds(10), Duration.ofSeconds(30), Set.of());
  }

  public boolean hasCredentials() {
    return username != null && password != null;
  }

  /** True when this is Docker Hub, whose official images live under {@code library/}. */
  public boolean isDockerHub() {
    String h = url.getHost();
    return h != null && (h.equals("registry-1.docker.io") || h.equals("index.docker.io"));
  }

  @Override
  public String toString() {
    // Never print the password.
    return "UpstreamOptions[name=" + name + ", url=" + url + ", username=" + username + "]";
  }
}
