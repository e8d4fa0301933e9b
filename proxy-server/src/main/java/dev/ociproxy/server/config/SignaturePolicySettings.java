package dev.ociproxy.server.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ociproxy.core.policy.Requirement;
import dev.ociproxy.core.policy.Rule;
import dev.ociproxy.core.policy.SignaturePolicy;
import dev.ociproxy.core.policy.SignedIdentity;
import dev.ociproxy.core.policy.TrustedKey;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;
import org.jspecify.annotations.Nullable;

/**
 * Reads {@code signaturePolicy}: the path of a containers-policy.json file, or the same document
 * inline in {@code proxy.yaml}. Its {@code docker} transport scopes are {@code <upstream
 * name>[/<namespace or repository>]}; other transports are ignored (they name no registry). Every
 * key file is read and every key parsed here, so {@code --check-config} names a bad one. Keyless
 * verification (Fulcio, Rekor) and GPG ({@code signedBy}) are refused naming the key.
 *
 * <pre>
 * signaturePolicy: /etc/registry-proxy/policy.json
 * # or inline:
 * signaturePolicy:
 *   default: [{type: insecureAcceptAnything}]
 *   transports:
 *     docker:
 *       registry.example.com/team:
 *         - type: sigstoreSigned
 *           keyPath: /etc/registry-proxy/team.pub
 *           signedIdentity: {type: matchRepository}
 * </pre>
 */
final class SignaturePolicySettings {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String KEY = "signaturePolicy";
  private static final Set<String> KEYLESS =
      Set.of(
          "fulcio",
          "rekorPublicKeyPath",
          "rekorPublicKeyPaths",
          "rekorPublicKeyData",
          "rekorPublicKeyDatas",
          "pki");
  private static final List<String> KEY_SOURCES =
      List.of("keyPath", "keyPaths", "keyData", "keyDatas");

  private final UnaryOperator<String> env;

  private SignaturePolicySettings(UnaryOperator<String> env) {
    this.env = env;
  }

  /**
   * The policy, or null when {@code signaturePolicy} is not given; {@code ${VAR}} in its values is
   * replaced from {@code env}, as everywhere in {@code proxy.yaml}.
   */
  static @Nullable SignaturePolicy parse(@Nullable JsonNode node, UnaryOperator<String> env) {
    return new SignaturePolicySettings(env).parse(node);
  }

  private @Nullable SignaturePolicy parse(@Nullable JsonNode node) {
    if (node == null || node.isNull() || node.isMissingNode()) {
      return null;
    }
    if (node.isObject()) {
      return policy(node, KEY);
    }
    if (!node.isTextual() || node.asText().isBlank()) {
      throw new ConfigException(
          KEY, "expected the path of a containers-policy.json file, or the policy as a mapping");
    }
    Path file = Path.of(text(node, KEY));
    JsonNode root;
    try {
      root = JSON.readTree(Files.readString(file, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new ConfigException(KEY, "cannot read " + file + ": " + e.getMessage());
    }
    if (root == null || !root.isObject()) {
      throw new ConfigException(KEY, file + " is not a JSON object (containers-policy.json)");
    }
    return policy(root, KEY + " (" + file + ")");
  }

  private SignaturePolicy policy(JsonNode root, String key) {
    only(root, key, Set.of("default", "transports"));
    if (!root.has("default")) {
      throw new ConfigException(
          key + ".default",
          "missing (required, as in containers-policy.json; e.g. [{type: insecureAcceptAnything}])");
    }
    Rule dflt = rule(root.get("default"), key + ".default", "default");
    Map<String, Rule> scopes = new LinkedHashMap<>();
    JsonNode transports = root.path("transports");
    if (!transports.isMissingNode() && !transports.isObject()) {
      throw new ConfigException(key + ".transports", "expected a mapping of transport names");
    }
    JsonNode docker = transports.path("docker");
    if (!docker.isMissingNode() && !docker.isObject()) {
      throw new ConfigException(key + ".transports.docker", "expected a mapping of scopes");
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = docker.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String scopeKey = key + ".transports.docker[\"" + e.getKey() + "\"]";
      String scope = scope(scopeKey, e.getKey());
      scopes.put(scope, rule(e.getValue(), scopeKey, scope));
    }
    return new SignaturePolicy(dflt, scopes);
  }

  /** A scope naming an upstream and optionally a namespace or repository, never a tag or digest. */
  private String scope(String key, String scope) {
    String s = scope.endsWith("/") ? scope.substring(0, scope.length() - 1) : scope;
    int slash = s.indexOf('/');
    String path = slash < 0 ? "" : s.substring(slash + 1);
    if (s.contains("@") || path.contains(":")) {
      throw new ConfigException(
          key,
          "scopes naming a tag or digest are not supported (a digest pull cannot tell which tag it"
              + " came through): scope an upstream, a namespace or a repository");
    }
    if (s.startsWith("*") && (!s.startsWith("*.") || slash >= 0)) {
      throw new ConfigException(key, "a wildcard scope is *.domain alone (e.g. *.example.com)");
    }
    return s;
  }

  private Rule rule(JsonNode list, String key, String scope) {
    if (!list.isArray() || list.isEmpty()) {
      throw new ConfigException(key, "expected a non-empty list of requirements");
    }
    List<Requirement> out = new ArrayList<>();
    for (int i = 0; i < list.size(); i++) {
      out.add(requirement(list.get(i), key + "[" + i + "]"));
    }
    return new Rule(scope, out);
  }

  private Requirement requirement(JsonNode r, String key) {
    String type = type(r, key);
    switch (type) {
      case "insecureAcceptAnything" -> {
        only(r, key, Set.of("type"));
        return new Requirement.AcceptAnything();
      }
      case "reject" -> {
        only(r, key, Set.of("type"));
        return new Requirement.Reject();
      }
      case "sigstoreSigned" -> {
        return sigstoreSigned(r, key);
      }
      case "signedBy" ->
          throw new ConfigException(
              key + ".type",
              "signedBy (GPG signatures) is not supported; use sigstoreSigned with keys");
      default ->
          throw new ConfigException(
              key + ".type",
              "'" + type + "' (expected insecureAcceptAnything, reject or sigstoreSigned)");
    }
  }

  private Requirement sigstoreSigned(JsonNode r, String key) {
    for (Iterator<String> it = r.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (KEYLESS.contains(f)) {
        throw new ConfigException(
            key + "." + f,
            "keyless verification (Fulcio certificates, Rekor) is not supported: use keyPath,"
                + " keyPaths or keyData with the signers' public keys");
      }
    }
    only(r, key, Set.of("type", "keyPath", "keyPaths", "keyData", "keyDatas", "signedIdentity"));
    List<String> given = KEY_SOURCES.stream().filter(r::has).toList();
    if (given.size() != 1) {
      throw new ConfigException(
          key,
          given.isEmpty()
              ? "sigstoreSigned needs keys: give one of keyPath, keyPaths, keyData"
              : "give exactly one of " + given + " (as containers-policy.json)");
    }
    String source = given.get(0);
    List<TrustedKey> keys = new ArrayList<>();
    JsonNode v = r.get(source);
    boolean many = source.endsWith("s");
    if (many != v.isArray() || (many && v.isEmpty())) {
      throw new ConfigException(
          key + "." + source, many ? "expected a non-empty list" : "expected a single value");
    }
    List<JsonNode> values = new ArrayList<>();
    (many ? v : JSON.createArrayNode().add(v)).forEach(values::add);
    for (int i = 0; i < values.size(); i++) {
      String k = key + "." + source + (many ? "[" + i + "]" : "");
      keys.add(
          source.startsWith("keyPath") ? keyFile(k, values.get(i)) : keyData(k, values.get(i)));
    }
    SignedIdentity identity =
        r.has("signedIdentity")
            ? identity(r.get("signedIdentity"), key + ".signedIdentity")
            : new SignedIdentity.MatchRepoDigestOrExact();
    return new Requirement.SigstoreSigned(keys, identity);
  }

  private TrustedKey keyFile(String key, JsonNode v) {
    Path file = Path.of(text(v, key));
    String pem;
    try {
      pem = Files.readString(file, StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new ConfigException(key, "cannot read " + file + ": " + e.getMessage());
    }
    try {
      return TrustedKey.fromPem(file.toString(), pem);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(key, file + " " + e.getMessage());
    }
  }

  /** containers-policy.json's keyData is the PEM in base64; the PEM itself is accepted too. */
  private TrustedKey keyData(String key, JsonNode v) {
    String data = text(v, key);
    String pem = data;
    if (!data.contains("-----BEGIN")) {
      try {
        pem = new String(Base64.getMimeDecoder().decode(data.strip()), StandardCharsets.US_ASCII);
      } catch (IllegalArgumentException e) {
        throw new ConfigException(key, "is neither a PEM public key nor the base64 of one");
      }
    }
    try {
      return TrustedKey.fromPem(key, pem);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(key, e.getMessage());
    }
  }

  private SignedIdentity identity(JsonNode n, String key) {
    String type = type(n, key);
    return switch (type) {
      case "matchRepoDigestOrExact" -> {
        only(n, key, Set.of("type"));
        yield new SignedIdentity.MatchRepoDigestOrExact();
      }
      case "matchRepository" -> {
        only(n, key, Set.of("type"));
        yield new SignedIdentity.MatchRepository();
      }
      case "matchExact" -> {
        only(n, key, Set.of("type"));
        yield new SignedIdentity.MatchExact();
      }
      case "exactReference" -> {
        only(n, key, Set.of("type", "dockerReference"));
        yield new SignedIdentity.ExactReference(
            text(n.get("dockerReference"), key + ".dockerReference"));
      }
      case "exactRepository" -> {
        only(n, key, Set.of("type", "dockerRepository"));
        yield new SignedIdentity.ExactRepository(
            text(n.get("dockerRepository"), key + ".dockerRepository"));
      }
      case "remapIdentity" -> {
        only(n, key, Set.of("type", "prefix", "signedPrefix"));
        yield new SignedIdentity.RemapIdentity(
            text(n.get("prefix"), key + ".prefix"),
            text(n.get("signedPrefix"), key + ".signedPrefix"));
      }
      default ->
          throw new ConfigException(
              key + ".type",
              "'"
                  + type
                  + "' (expected matchRepoDigestOrExact, matchRepository, matchExact,"
                  + " exactReference, exactRepository or remapIdentity)");
    };
  }

  private String type(JsonNode n, String key) {
    if (n == null || !n.isObject()) {
      throw new ConfigException(key, "expected a mapping with a type");
    }
    return text(n.get("type"), key + ".type");
  }

  private String text(JsonNode v, String key) {
    if (v == null || v.isNull()) {
      throw new ConfigException(key, "missing (required)");
    }
    if (!v.isTextual() || v.asText().isBlank()) {
      throw new ConfigException(key, "expected a single non-empty value");
    }
    try {
      return ConfigBinding.substitute(v.asText(), env);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(key, e.getMessage());
    }
  }

  private static void only(JsonNode n, String key, Set<String> known) {
    for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!known.contains(f)) {
        throw new ConfigException(key + "." + f, "unknown key (known here: " + known + ")");
      }
    }
  }
}
