package dev.ociproxy.core.upstream;

import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.RegistryException;

/** The upstream could not be reached or broke the connection: a 502 to the client. */
public final class UpstreamUnavailableException extends RegistryException {
  private static final long serialVersionUID = 1L;

  public UpstreamUnavailableException(String message, Throwable cause) {
    super(OciErrorCode.UNAVAILABLE, 502, message, cause);
  }
}
