package dev.ociproxy.core.registry;

import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.upstream.UpstreamResponse;

/** Maps an upstream's non-success status to the error our client sees. */
final class UpstreamErrors {
  private UpstreamErrors() {}

  static RegistryException of(UpstreamResponse resp, OciErrorCode notFound, String what) {
    int s = resp.status();
    return switch (s) {
      case 404 -> new RegistryException(notFound, 404, what + " not found upstream");
      case 401, 403 ->
          new RegistryException(
              OciErrorCode.DENIED, 403, "upstream denied access to " + what + " (" + s + ")");
      case 429 -> {
        String retry = resp.headers().get("Retry-After");
        yield new RegistryException(
            OciErrorCode.TOOMANYREQUESTS,
            429,
            "upstream rate limit" + (retry == null ? "" : ", retry after " + retry));
      }
      default ->
          new RegistryException(
              OciErrorCode.UNAVAILABLE, 502, "upstream answered " + s + " for " + what);
    };
  }

  /** True for failures where serving the last verified data is better than an error. */
  static boolean isUpstreamTrouble(Throwable t) {
    return t instanceof RegistryException r
        && (r.status() >= 500 || r.status() == 429)
        && !(t instanceof dev.ociproxy.core.verify.VerificationException);
  }
}
