package dev.ociproxy.core.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.core.oci.RepositoryName;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SignaturePolicyTest {
  private static Rule rule(String scope) {
    return new Rule(scope, List.of(new Requirement.Reject()));
  }

  private static final SignaturePolicy POLICY =
      new SignaturePolicy(
          new Rule("default", List.of(new Requirement.AcceptAnything())),
          Map.of(
              "reg.example.com", rule("reg.example.com"),
              "reg.example.com/team", rule("reg.example.com/team"),
              "reg.example.com/team/app", rule("reg.example.com/team/app"),
              "*.example.org", rule("*.example.org"),
              "*.a.example.org", rule("*.a.example.org"),
              "host:5000/x", rule("host:5000/x")));

  private static String scopeOf(String upstream, String repo) {
    return POLICY.rule(upstream, new RepositoryName(repo)).scope();
  }

  @Test
  void theMostSpecificScopeNamingTheRepositoryWins() {
    assertThat(scopeOf("reg.example.com", "team/app")).isEqualTo("reg.example.com/team/app");
    assertThat(scopeOf("reg.example.com", "team/app2")).isEqualTo("reg.example.com/team");
    assertThat(scopeOf("reg.example.com", "team/app/sub")).isEqualTo("reg.example.com/team/app");
    assertThat(scopeOf("reg.example.com", "teamx")).isEqualTo("reg.example.com");
    assertThat(scopeOf("host:5000", "x/y")).isEqualTo("host:5000/x");
  }

  @Test
  void wildcardsCoverHostsBelowTheirDomain_theLongestFirst_andDefaultElsewhere() {
    assertThat(scopeOf("r.a.example.org", "app")).isEqualTo("*.a.example.org");
    assertThat(scopeOf("r.example.org", "app")).isEqualTo("*.example.org");
    assertThat(scopeOf("example.org", "app")).isEqualTo("default");
    assertThat(scopeOf("other.example.net", "app")).isEqualTo("default");
  }

  @Test
  void theDockerTransportsOwnDefault_comesBeforeThePolicyDefault() {
    SignaturePolicy p =
        new SignaturePolicy(
            new Rule("default", List.of(new Requirement.AcceptAnything())), Map.of("", rule("")));

    assertThat(p.rule("any.example.com", new RepositoryName("app")).scope()).isEmpty();
    assertThat(p.leavesOpen("any.example.com")).isFalse();
  }

  @Test
  void anUpstreamNoScopeRestricts_isLeftOpen_andOneAScopeRestricts_isNot() {
    assertThat(POLICY.leavesOpen("other.example.net")).isTrue();
    assertThat(POLICY.leavesOpen("reg.example.com")).isFalse();
    assertThat(POLICY.leavesOpen("r.example.org")).isFalse();
    assertThat(POLICY.leavesOpen("host:5000")).isFalse();
  }
}
