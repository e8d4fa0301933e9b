package dev.ociproxy.core.oci;

import static java.util.Objects.requireNonNull;

import org.jspecify.annotations.Nullable;

/**
 * A failure that has a registry error code and an HTTP status, rendered once as the spec's JSON
 * error body by the server.
 */
public class RegistryException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final OciErrorCode code;
  private final int status;

  public RegistryException(OciErrorCode code, String message) {
    this(code, code.defaultStatus(), message, null);
  }

  public RegistryException(OciErrorCode code, int status, String message) {
    this(code, status, message, null);
  }

  public RegistryException(
      OciErrorCode code, int status, String message, @Nullable Throwable cause) {
    super(message, cause);
    this.code = requireNonNull(code, "code");
    this.status = status;
  }

  public OciErrorCode code() {
    return code;
  }

  public int status() {
    return status;
  }
}
