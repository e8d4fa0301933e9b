package dev.ociproxy.core.oci;

/** The distribution-spec error codes, with the HTTP status each is normally sent with. */
public enum OciErrorCode {
  BLOB_UNKNOWN(404),
  BLOB_UPLOAD_INVALID(400),
  BLOB_UPLOAD_UNKNOWN(404),
  DIGEST_INVALID(400),
  MANIFEST_BLOB_UNKNOWN(404),
  MANIFEST_INVALID(400),
  MANIFEST_UNKNOWN(404),
  NAME_INVALID(400),
  NAME_UNKNOWN(404),
  SIZE_INVALID(400),
  UNAUTHORIZED(401),
  DENIED(403),
  UNSUPPORTED(405),
  TOOMANYREQUESTS(429),
  RANGE_INVALID(416),
  /** Not in the spec list, but what distribution and Docker Hub send for upstream trouble. */
  UNAVAILABLE(503);

  private final int status;

  OciErrorCode(int status) {
    this.status = status;
  }

  public int defaultStatus() {
    return status;
  }
}
