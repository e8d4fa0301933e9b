package dev.ociproxy.core.upstream;

import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.RegistryException;
import org.jspecify.annotations.Nullable;

/** The upstream could not be reached or broke the connection: a 502 to the client. */
public final class UpstreamUnavailableException extends RegistryException {
  private static final long serialVersionUID = 1L;

  public UpstreamUnavailableException(String message, @Nullable Throwable cause) {
    super(OciErrorCode.UNAVAILABLE, 502, message, cause);
  }
}
