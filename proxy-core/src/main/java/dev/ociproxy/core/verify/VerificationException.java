package dev.ociproxy.core.verify;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.RegistryException;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/** The upstream sent content that is not what was asked for; it is refused and never cached. */
public final class VerificationException extends RegistryException {
  private static final long serialVersionUID = 1L;

  /** Why content was refused; a low-cardinality metric tag. */
  public enum Reason {
    DIGEST_MISMATCH,
    DIGEST_HEADER_MISMATCH,
    SIZE_MISMATCH,
    TOO_LARGE,
    MEDIA_TYPE_MISMATCH,
    INVALID_MANIFEST,
    TRUNCATED,
    /** The rest of a broken-off body asked with {@code Range}, answered from elsewhere. */
    RANGE_MISMATCH,
    /** A listed referrer whose {@code subject} is another digest. */
    SUBJECT_MISMATCH,
    /** A listed referrer the upstream does not have. */
    NOT_FOUND,
    /** A {@code Link} to another origin or path. */
    FOREIGN_LINK,
    /** A list longer than the bounds on pages or entries. */
    TOO_MANY;

    public String tag() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  private final Reason reason;
  private final transient @Nullable Digest requested;
  private final @Nullable String detail;

  public VerificationException(Reason reason, @Nullable Digest requested, @Nullable String detail) {
    super(
        reason == Reason.DIGEST_MISMATCH || reason == Reason.DIGEST_HEADER_MISMATCH
            ? OciErrorCode.DIGEST_INVALID
            : OciErrorCode.MANIFEST_INVALID,
        502,
        "upstream content failed verification: " + detail);
    this.reason = reason;
    this.requested = requested;
    this.detail = detail;
  }

  public Reason reason() {
    return reason;
  }

  /** What arrived instead, as the refusal's log line and the status page say it. */
  public @Nullable String detail() {
    return detail;
  }

  /** The digest the client asked for, or null for a tag request. */
  public @Nullable Digest requested() {
    return requested;
  }
}
