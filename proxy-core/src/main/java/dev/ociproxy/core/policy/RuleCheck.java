package dev.ociproxy.core.policy;

import dev.ociproxy.core.oci.Digest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Decides a rule's signature requirements over the signatures found for one manifest: every
 * requirement needs one signature that a key of its own verifies, whose claim covers the digest and
 * whose identity matches. Pure: no I/O, thread-safe.
 */
final class RuleCheck {
  /** Refusals in the order that tells the operator most: a trusted but misapplied one first. */
  private static final List<Verdict.Reason> MOST_TELLING =
      List.of(
          Verdict.Reason.IDENTITY_MISMATCH,
          Verdict.Reason.DIGEST_MISMATCH,
          Verdict.Reason.BAD_SIGNATURE,
          Verdict.Reason.UNKNOWN_KEY);

  private RuleCheck() {}

  /**
   * @param requested the image as the client named it ({@code upstream/repo} with tag or digest)
   */
  static Verdict decide(
      Rule rule, DockerReference requested, Digest digest, SignatureFinder.Found found) {
    List<String> keys = new ArrayList<>();
    List<String> where = new ArrayList<>();
    for (Requirement.SigstoreSigned req : rule.signed()) {
      Verdict v = requirement(req, requested, digest, found);
      if (!v.admitted()) {
        return v;
      }
      keys.add(v.key());
      where.add(v.detail());
    }
    return Verdict.admit(Verdict.Reason.SIGNED, String.join(", ", where), String.join(", ", keys));
  }

  private static Verdict requirement(
      Requirement.SigstoreSigned req,
      DockerReference requested,
      Digest digest,
      SignatureFinder.Found found) {
    List<Verdict> refusals = new ArrayList<>();
    for (SignatureEnvelope e : found.envelopes()) {
      Verdict v = envelope(req, requested, digest, e);
      if (v.admitted()) {
        return v;
      }
      refusals.add(v);
    }
    for (String damaged : found.damaged()) {
      refusals.add(
          Verdict.refuse(Verdict.Reason.BAD_SIGNATURE, damaged + " (refused, not verified)"));
    }
    boolean passing = !found.unavailable().isEmpty();
    if (refusals.isEmpty()) {
      return passing
          ? new Verdict(
              Verdict.Reason.SIGNATURES_UNAVAILABLE,
              "its signatures could not be fetched: " + String.join("; ", found.unavailable()),
              null,
              false)
          : Verdict.refuse(
              Verdict.Reason.NO_SIGNATURE,
              "no signature of "
                  + digest
                  + " (looked for the "
                  + SimpleSigning.tagFor(digest)
                  + " tag and for bundles among its referrers)");
    }
    Verdict telling =
        refusals.stream()
            .min(Comparator.comparingInt(v -> MOST_TELLING.indexOf(v.reason())))
            .orElseThrow();
    // A signature that could not be fetched might have been the one that verifies.
    return passing ? new Verdict(telling.reason(), telling.detail(), null, false) : telling;
  }

  private static Verdict envelope(
      Requirement.SigstoreSigned req,
      DockerReference requested,
      Digest digest,
      SignatureEnvelope e) {
    TrustedKey key = trusting(req, e);
    if (key == null) {
      return Verdict.refuse(
          Verdict.Reason.UNKNOWN_KEY,
          e.where()
              + " verifies with no trusted key (signed by another key, or altered since) of "
              + req.keys().stream().map(TrustedKey::toString).toList());
    }
    SignatureEnvelope.Claim claim = e.claim();
    if (claim == null) {
      return Verdict.refuse(
          Verdict.Reason.BAD_SIGNATURE, e.where() + " by " + key + ": " + e.problem());
    }
    if (!claim.digests().contains(digest)) {
      return Verdict.refuse(
          Verdict.Reason.DIGEST_MISMATCH,
          e.where() + " by " + key + " signs " + claim.digests() + ", not " + digest);
    }
    DockerReference signed =
        claim.identity() == null ? null : DockerReference.parse(claim.identity());
    if (signed == null || !req.identity().matches(requested, signed)) {
      return Verdict.refuse(
          Verdict.Reason.IDENTITY_MISMATCH,
          e.where()
              + " by "
              + key
              + " was made for "
              + (signed == null ? "no image name" : signed)
              + ", which "
              + identityName(req.identity())
              + " does not accept for "
              + requested);
    }
    return Verdict.admit(Verdict.Reason.SIGNED, e.where(), key.toString());
  }

  private static @Nullable TrustedKey trusting(
      Requirement.SigstoreSigned req, SignatureEnvelope e) {
    for (TrustedKey k : req.keys()) {
      if (k.verifies(e.signed(), e.signature())) {
        return k;
      }
    }
    return null;
  }

  /** The identity rule as containers-policy.json spells it. */
  static String identityName(SignedIdentity identity) {
    String simple = identity.getClass().getSimpleName();
    return "signedIdentity " + Character.toLowerCase(simple.charAt(0)) + simple.substring(1);
  }
}
