package dev.ociproxy.core.policy;

import static java.util.Objects.requireNonNull;

import java.util.List;

/** One requirement of a policy scope, in containers-policy.json's vocabulary. */
public sealed interface Requirement {
  /** {@code insecureAcceptAnything}: served as without a policy. */
  record AcceptAnything() implements Requirement {}

  /** {@code reject}: nothing in the scope is served. */
  record Reject() implements Requirement {}

  /**
   * {@code sigstoreSigned} with keys: at least one signature by one of {@code keys} must cover the
   * manifest's digest, and its claimed identity must satisfy {@code identity}.
   */
  record SigstoreSigned(List<TrustedKey> keys, SignedIdentity identity) implements Requirement {
    public SigstoreSigned {
      keys = List.copyOf(keys);
      requireNonNull(identity, "identity");
      if (keys.isEmpty()) {
        throw new IllegalArgumentException("keys: empty (expected at least one trusted key)");
      }
    }
  }
}
