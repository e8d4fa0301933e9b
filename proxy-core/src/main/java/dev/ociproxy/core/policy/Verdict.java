package dev.ociproxy.core.policy;

import static java.util.Objects.requireNonNull;

import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * A policy decision about one manifest or blob: admitted or refused, why, and for a signature the
 * key that vouched for it.
 *
 * @param detail what a refusal tells the client and the log (which signature, which digest)
 * @param key the trusted key whose signature admitted it, or null
 * @param lasting false when it rests on something that may pass (signatures that could not be
 *     fetched), so it is not remembered
 */
public record Verdict(Reason reason, String detail, @Nullable String key, boolean lasting) {
  /** Why; a low-cardinality metric tag. Refusals first, admissions after. */
  public enum Reason {
    /** A {@code reject} requirement covers it. */
    REJECTED(false),
    /** No signature was found for its digest. */
    NO_SIGNATURE(false),
    /** Signatures were found, but none verifies with a trusted key (another key, or altered). */
    UNKNOWN_KEY(false),
    /** A signature's bytes were refused (a payload that does not hash) or are not a document. */
    BAD_SIGNATURE(false),
    /** A trusted signature names another digest. */
    DIGEST_MISMATCH(false),
    /** A trusted signature covers the digest, but for another image name. */
    IDENTITY_MISMATCH(false),
    /** The signatures could not be fetched (upstream down, never cached). */
    SIGNATURES_UNAVAILABLE(false),
    /** A blob no admitted manifest of the repository references. */
    NOT_ADMITTED(false),
    /** A trusted signature covers it. */
    SIGNED(true),
    /** An index with a trusted signature lists it. */
    LISTED_IN_SIGNED_INDEX(true),
    /** An admitted manifest of the repository references it (a blob). */
    REFERENCED(true),
    /** A signature, attestation or SBOM: nothing a runtime runs. */
    ARTIFACT(true),
    /** The rule is {@code insecureAcceptAnything}. */
    ACCEPT_ANYTHING(true);

    private final boolean admits;

    Reason(boolean admits) {
      this.admits = admits;
    }

    public String tag() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  public Verdict {
    requireNonNull(reason, "reason");
    requireNonNull(detail, "detail");
  }

  static Verdict admit(Reason reason, String detail, @Nullable String key) {
    return new Verdict(reason, detail, key, true);
  }

  static Verdict refuse(Reason reason, String detail) {
    return new Verdict(reason, detail, null, true);
  }

  public boolean admitted() {
    return reason.admits;
  }

  /** {@code admit} or {@code refuse}, as the metric's {@code decision} tag says. */
  public String decision() {
    return admitted() ? "admit" : "refuse";
  }
}
