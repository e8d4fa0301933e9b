package dev.ociproxy.core.policy;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * The requirements that apply to one repository: those of the most specific scope naming it. As in
 * containers-policy.json, every requirement of the list must be satisfied.
 *
 * @param scope the scope they come from ({@code default}, an upstream, or {@code
 *     upstream/namespace…}), as refusals and metrics name the rule
 */
public record Rule(String scope, List<Requirement> requirements) {
  public Rule {
    requireNonNull(scope, "scope");
    requirements = List.copyOf(requirements);
    if (requirements.isEmpty()) {
      throw new IllegalArgumentException(scope + ": no requirements (expected at least one)");
    }
  }

  /** True when nothing here needs checking: every requirement accepts anything. */
  public boolean acceptsAnything() {
    return requirements.stream().allMatch(r -> r instanceof Requirement.AcceptAnything);
  }

  /** True when a requirement rejects everything. */
  public boolean rejects() {
    return requirements.stream().anyMatch(r -> r instanceof Requirement.Reject);
  }

  /** The requirements that need a signature. */
  public List<Requirement.SigstoreSigned> signed() {
    return requirements.stream()
        .filter(Requirement.SigstoreSigned.class::isInstance)
        .map(Requirement.SigstoreSigned.class::cast)
        .toList();
  }
}
