package dev.ociproxy.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.policy.Requirement;
import dev.ociproxy.core.policy.SignaturePolicy;
import dev.ociproxy.core.policy.SignedIdentity;
import dev.ociproxy.testing.CosignSignatures;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SignaturePolicyConfigTest {
  private static final String UPSTREAMS =
      """
      upstreams:
        - name: registry.example.com
          url: http://127.0.0.1:5000
          default: true
      """;

  @TempDir Path dir;

  private static ProxyConfig parse(String yaml) {
    return new ConfigLoader(k -> null).parse(yaml);
  }

  private Path key() throws Exception {
    return Files.writeString(
        dir.resolve("cosign.pub"), CosignSignatures.pem(CosignSignatures.ecKey().getPublic()));
  }

  private static Requirement.SigstoreSigned signed(SignaturePolicy p, String repo) {
    return p.rule("registry.example.com", new RepositoryName(repo)).signed().get(0);
  }

  @Test
  void withoutSignaturePolicy_thereIsNone() {
    assertThat(parse(UPSTREAMS).signatures()).isNull();
  }

  @Test
  void anInlinePolicy_bindsScopesKeysAndIdentities() throws Exception {
    Path key = key();
    SignaturePolicy p =
        parse(
                UPSTREAMS
                    + """
                    signaturePolicy:
                      default: [{type: insecureAcceptAnything}]
                      transports:
                        docker:
                          registry.example.com/team:
                            - type: sigstoreSigned
                              keyPath: %s
                              signedIdentity:
                                type: remapIdentity
                                prefix: registry.example.com
                                signedPrefix: vendor.example.com
                          registry.example.com/closed: [{type: reject}]
                    """
                        .formatted(key))
            .signatures();

    assertThat(signed(p, "team/app").keys())
        .singleElement()
        .satisfies(k -> assertThat(k.name()).isEqualTo(key.toString()));
    assertThat(signed(p, "team/app").identity())
        .isEqualTo(new SignedIdentity.RemapIdentity("registry.example.com", "vendor.example.com"));
    assertThat(p.rule("registry.example.com", new RepositoryName("closed/x")).rejects()).isTrue();
    assertThat(p.rule("registry.example.com", new RepositoryName("other")).acceptsAnything())
        .isTrue();
  }

  @Test
  void aContainersPolicyJsonFile_isReadWithItsKeyDataInBase64_andOtherTransportsIgnored()
      throws Exception {
    String pem = CosignSignatures.pem(CosignSignatures.ecKey().getPublic());
    Path policy =
        Files.writeString(
            dir.resolve("policy.json"),
            """
            {"default": [{"type": "reject"}],
             "transports": {
               "docker": {"registry.example.com": [{"type": "sigstoreSigned", "keyData": "%s"}]},
               "docker-daemon": {"": [{"type": "insecureAcceptAnything"}]}}}
            """
                .formatted(
                    Base64.getEncoder().encodeToString(pem.getBytes(StandardCharsets.US_ASCII))));

    SignaturePolicy p = parse(UPSTREAMS + "signaturePolicy: " + policy + "\n").signatures();

    assertThat(signed(p, "any/repo").identity())
        .isEqualTo(new SignedIdentity.MatchRepoDigestOrExact());
    assertThat(p.defaultRule().rejects()).isTrue();
  }

  @Test
  void keylessVerification_isRefusedNamingTheKey() throws Exception {
    assertThatThrownBy(
            () ->
                parse(
                    UPSTREAMS
                        + """
                        signaturePolicy:
                          default: [{type: reject}]
                          transports:
                            docker:
                              registry.example.com:
                                - type: sigstoreSigned
                                  fulcio: {caPath: /x}
                        """))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith(
            "signaturePolicy.transports.docker[\"registry.example.com\"][0].fulcio:")
        .hasMessageContaining("keyless");
  }

  @Test
  void anUnreadableOrMalformedKeyFile_isRefusedNamingTheKey() throws Exception {
    String yaml =
        UPSTREAMS
            + """
            signaturePolicy:
              default: [{type: reject}]
              transports:
                docker:
                  registry.example.com:
                    - type: sigstoreSigned
                      keyPaths: [%s, %s]
            """;
    Path bad = Files.writeString(dir.resolve("bad.pub"), "not a key\n");

    assertThatThrownBy(() -> parse(yaml.formatted(key(), dir.resolve("missing.pub"))))
        .hasMessageStartingWith(
            "signaturePolicy.transports.docker[\"registry.example.com\"][0].keyPaths[1]:")
        .hasMessageContaining("cannot read");
    assertThatThrownBy(() -> parse(yaml.formatted(key(), bad)))
        .hasMessageContaining("keyPaths[1]:")
        .hasMessageContaining("no PEM public key");
  }

  @Test
  void unknownKeysTypesAndTagScopes_areRefusedNamingTheKey() {
    assertThatThrownBy(
            () -> parse(UPSTREAMS + "signaturePolicy:\n  default: [{type: reject, x: 1}]\n"))
        .hasMessageStartingWith("signaturePolicy.default[0].x: unknown key");
    assertThatThrownBy(() -> parse(UPSTREAMS + "signaturePolicy:\n  default: [{type: signedBy}]\n"))
        .hasMessageStartingWith("signaturePolicy.default[0].type:")
        .hasMessageContaining("GPG");
    assertThatThrownBy(() -> parse(UPSTREAMS + "signaturePolicy:\n  transports: {}\n"))
        .hasMessageStartingWith("signaturePolicy.default: missing");
    assertThatThrownBy(
            () ->
                parse(
                    UPSTREAMS
                        + "signaturePolicy:\n  default: [{type: reject}]\n  transports:\n"
                        + "    docker:\n      registry.example.com/app:v1: [{type: reject}]\n"))
        .hasMessageStartingWith(
            "signaturePolicy.transports.docker[\"registry.example.com/app:v1\"]:")
        .hasMessageContaining("tag or digest");
    assertThatThrownBy(() -> parse(UPSTREAMS + "signaturePolicy: /nonexistent/policy.json\n"))
        .hasMessageStartingWith("signaturePolicy: cannot read /nonexistent/policy.json");
  }

  @Test
  void envVariablesInThePolicy_areReplacedAsEverywhereInTheFile_andAnUnsetOneIsRefused()
      throws Exception {
    Path key = key();
    String yaml =
        UPSTREAMS
            + "signaturePolicy:\n  default: [{type: sigstoreSigned, keyPath: \"${KEYS}/cosign.pub\"}]\n";

    SignaturePolicy p =
        new ConfigLoader(Map.of("KEYS", key.getParent().toString())::get).parse(yaml).signatures();

    assertThat(p.defaultRule().signed().get(0).keys().get(0).name()).isEqualTo(key.toString());
    assertThatThrownBy(() -> parse(yaml))
        .hasMessageStartingWith("signaturePolicy.default[0].keyPath:")
        .hasMessageContaining("${KEYS}");
  }
}
