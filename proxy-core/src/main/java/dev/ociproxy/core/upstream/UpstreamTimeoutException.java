package dev.ociproxy.core.upstream;

import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.RegistryException;

/** The upstream did not connect or answer in time: a 504 to the client. */
public final class UpstreamTimeoutException extends RegistryException {
  private static final long serialVersionUID = 1L;

  public UpstreamTimeoutException(String message) {
    super(OciErrorCode.UNAVAILABLE, 504, message);
  }
}
