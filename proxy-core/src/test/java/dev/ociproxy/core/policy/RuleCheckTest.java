package dev.ociproxy.core.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.testing.CosignSignatures;
import java.security.KeyPair;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The verifiers end to end: envelopes as the formats are parsed, decided by a rule. */
class RuleCheckTest {
  private static final String NAME = "reg.example.com/app";
  private static final Digest DIGEST = Digest.parse("sha256:" + "1".repeat(64));
  private static final Digest OTHER = Digest.parse("sha256:" + "2".repeat(64));
  private static final DockerReference BY_TAG = DockerReference.parse(NAME + ":v1");
  private static final DockerReference BY_DIGEST = DockerReference.parse(NAME + "@" + DIGEST);

  private final KeyPair trusted = CosignSignatures.ecKey();
  private final Rule rule = rule(trusted, new SignedIdentity.MatchRepoDigestOrExact());

  private static Rule rule(KeyPair key, SignedIdentity identity) {
    return new Rule(
        "reg.example.com",
        List.of(
            new Requirement.SigstoreSigned(
                List.of(TrustedKey.fromPem("trusted.pub", CosignSignatures.pem(key.getPublic()))),
                identity)));
  }

  private static SignatureFinder.Found found(SignatureEnvelope... e) {
    return new SignatureFinder.Found(List.of(e), List.of(), List.of());
  }

  private static SignatureEnvelope classic(KeyPair key, String reference, Digest digest) {
    byte[] payload = CosignSignatures.payload(reference, digest.toString());
    return SimpleSigning.envelope("sig", payload, CosignSignatures.sign(key.getPrivate(), payload));
  }

  @Test
  void aClassicSignatureByTheTrustedKey_admitsTheDigest_byTagAndByDigest() {
    Verdict v =
        RuleCheck.decide(rule, BY_TAG, DIGEST, found(classic(trusted, NAME + ":v1", DIGEST)));

    assertThat(v.reason()).isEqualTo(Verdict.Reason.SIGNED);
    assertThat(v.key()).startsWith("trusted.pub (");
    assertThat(
            RuleCheck.decide(rule, BY_DIGEST, DIGEST, found(classic(trusted, NAME + ":v1", DIGEST)))
                .admitted())
        .isTrue();
  }

  @Test
  void aTamperedPayload_verifiesWithNoKey() {
    byte[] payload = CosignSignatures.payload(NAME + ":v1", DIGEST.toString());
    byte[] sig = CosignSignatures.sign(trusted.getPrivate(), payload);
    payload[payload.length - 3] ^= 1;

    Verdict v =
        RuleCheck.decide(rule, BY_TAG, DIGEST, found(SimpleSigning.envelope("sig", payload, sig)));

    assertThat(v.reason()).isEqualTo(Verdict.Reason.UNKNOWN_KEY);
    assertThat(v.detail()).contains("altered");
  }

  @Test
  void aSignatureByAnotherKey_isRefusedAsUnknownKey() {
    Verdict v =
        RuleCheck.decide(
            rule, BY_TAG, DIGEST, found(classic(CosignSignatures.ecKey(), NAME + ":v1", DIGEST)));

    assertThat(v.reason()).isEqualTo(Verdict.Reason.UNKNOWN_KEY);
  }

  @Test
  void aTrustedPayloadNamingAnotherDigest_isRefusedAsDigestMismatch() {
    Verdict v =
        RuleCheck.decide(rule, BY_TAG, DIGEST, found(classic(trusted, NAME + ":v1", OTHER)));

    assertThat(v.reason()).isEqualTo(Verdict.Reason.DIGEST_MISMATCH);
    assertThat(v.detail()).contains(OTHER.toString()).contains("not " + DIGEST);
  }

  @Test
  void aTrustedSignatureForAnotherImage_isRefusedAsIdentityMismatch_evenBesideAnUnknownOne() {
    Verdict v =
        RuleCheck.decide(
            rule,
            BY_TAG,
            DIGEST,
            found(
                classic(CosignSignatures.ecKey(), NAME + ":v1", DIGEST),
                classic(trusted, "reg.example.com/other:v1", DIGEST)));

    assertThat(v.reason()).isEqualTo(Verdict.Reason.IDENTITY_MISMATCH);
    assertThat(v.detail()).contains("reg.example.com/other:v1");
  }

  @Test
  void noSignatureAtAll_isRefusedAsNoSignature_andAFetchFailure_isNotRemembered() {
    Verdict none = RuleCheck.decide(rule, BY_TAG, DIGEST, found());
    Verdict unavailable =
        RuleCheck.decide(
            rule,
            BY_TAG,
            DIGEST,
            new SignatureFinder.Found(List.of(), List.of("upstream down"), List.of()));

    assertThat(none.reason()).isEqualTo(Verdict.Reason.NO_SIGNATURE);
    assertThat(none.lasting()).isTrue();
    assertThat(unavailable.reason()).isEqualTo(Verdict.Reason.SIGNATURES_UNAVAILABLE);
    assertThat(unavailable.lasting()).isFalse();
  }

  @Test
  void aDsseBundleOverAnInTotoStatement_admitsTheDigestItsSubjectNames() {
    byte[] statement = CosignSignatures.statement(NAME, DIGEST.toString());
    List<SignatureEnvelope> e =
        Dsse.envelopes("bundle", CosignSignatures.bundle(trusted.getPrivate(), statement));
    Rule byRepository = rule(trusted, new SignedIdentity.MatchRepository());

    assertThat(RuleCheck.decide(byRepository, BY_TAG, DIGEST, found(e.get(0))).reason())
        .isEqualTo(Verdict.Reason.SIGNED);
    assertThat(RuleCheck.decide(byRepository, BY_TAG, OTHER, found(e.get(0))).reason())
        .isEqualTo(Verdict.Reason.DIGEST_MISMATCH);
  }

  @Test
  void aDsseSignatureOverThePayloadInsteadOfItsPae_doesNotVerify() {
    byte[] statement = CosignSignatures.statement(NAME, DIGEST.toString());
    byte[] bundle =
        CosignSignatures.bundle(statement, CosignSignatures.sign(trusted.getPrivate(), statement));
    List<SignatureEnvelope> e = Dsse.envelopes("bundle", bundle);

    assertThat(
            RuleCheck.decide(
                    rule(trusted, new SignedIdentity.MatchRepository()),
                    BY_TAG,
                    DIGEST,
                    found(e.get(0)))
                .reason())
        .isEqualTo(Verdict.Reason.UNKNOWN_KEY);
  }

  @Test
  void everyRequirementOfARuleMustBeSatisfied() {
    KeyPair second = CosignSignatures.ecKey();
    Rule both =
        new Rule(
            "s",
            List.of(
                rule(trusted, new SignedIdentity.MatchRepoDigestOrExact()).requirements().get(0),
                rule(second, new SignedIdentity.MatchRepoDigestOrExact()).requirements().get(0)));
    SignatureEnvelope first = classic(trusted, NAME + ":v1", DIGEST);

    assertThat(RuleCheck.decide(both, BY_TAG, DIGEST, found(first)).admitted()).isFalse();
    assertThat(
            RuleCheck.decide(
                    both, BY_TAG, DIGEST, found(first, classic(second, NAME + ":v1", DIGEST)))
                .admitted())
        .isTrue();
  }

  @Test
  void thePaeEncodingIsDssev1sLengthPrefixedForm() {
    assertThat(new String(Dsse.pae("t/x", "body".getBytes()))).isEqualTo("DSSEv1 3 t/x 4 body");
  }
}
