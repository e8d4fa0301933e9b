package dev.ociproxy.testing;

import static java.util.Objects.requireNonNull;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * cosign's signatures made in test code, exactly as the cosign specification lays them out (no
 * cosign binary exists on these machines): key pairs, simple-signing payloads signed into a
 * signature manifest for the {@code sha256-<hex>.sig} tag, and DSSE bundles as referrers.
 */
public final class CosignSignatures {
  public static final String SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json";
  public static final String SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature";
  public static final String BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json";
  public static final String EMPTY = "application/vnd.oci.empty.v1+json";
  public static final byte[] EMPTY_JSON = "{}".getBytes(StandardCharsets.UTF_8);
  private static final String IN_TOTO = "application/vnd.in-toto+json";

  private CosignSignatures() {}

  /** An ECDSA P-256 key pair, cosign's default. */
  public static KeyPair ecKey() {
    return generate("EC", new ECGenParameterSpec("secp256r1"));
  }

  public static KeyPair rsaKey() {
    return generate("RSA", null);
  }

  public static KeyPair ed25519Key() {
    return generate("Ed25519", null);
  }

  private static KeyPair generate(String algorithm, ECGenParameterSpec spec) {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance(algorithm);
      if (spec != null) {
        g.initialize(spec);
      } else if (algorithm.equals("RSA")) {
        g.initialize(2048);
      }
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The public key as {@code cosign generate-key-pair} writes {@code cosign.pub}. */
  public static String pem(PublicKey key) {
    return "-----BEGIN PUBLIC KEY-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
            .encodeToString(key.getEncoded())
        + "\n-----END PUBLIC KEY-----\n";
  }

  /** The simple-signing payload cosign signs for {@code digest}, made for {@code reference}. */
  public static byte[] payload(String reference, String digest) {
    return ("{\"critical\":{\"identity\":{\"docker-reference\":\""
            + reference
            + "\"},\"image\":{\"docker-manifest-digest\":\""
            + digest
            + "\"},\"type\":\"cosign container image signature\"},\"optional\":null}")
        .getBytes(StandardCharsets.UTF_8);
  }

  /** Signs as cosign does: SHA256withECDSA (DER), SHA256withRSA, or Ed25519. */
  public static byte[] sign(PrivateKey key, byte[] data) {
    String algorithm =
        switch (key.getAlgorithm()) {
          case "EC" -> "SHA256withECDSA";
          case "RSA" -> "SHA256withRSA";
          default -> "Ed25519";
        };
    try {
      Signature s = Signature.getInstance(algorithm);
      s.initSign(key);
      s.update(data);
      return s.sign();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The tag cosign stores the signatures of {@code digest} under. */
  public static String signatureTag(String digest) {
    return digest.replace(':', '-') + ".sig";
  }

  /** One signed payload layer of a signature manifest. */
  public record Layer(byte[] payload, byte[] signature) {
    public Layer {
      requireNonNull(payload, "payload");
      requireNonNull(signature, "signature");
    }

    /** {@code payload} signed with {@code key}. */
    public static Layer signed(PrivateKey key, byte[] payload) {
      return new Layer(payload, sign(key, payload));
    }
  }

  /** The config cosign gives signature manifests (push it as a blob with {@link #EMPTY_JSON}). */
  public static byte[] signatureConfig() {
    return "{\"architecture\":\"\",\"os\":\"\",\"config\":{},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}"
        .getBytes(StandardCharsets.UTF_8);
  }

  /** The signature manifest: {@link #signatureConfig} and one payload layer per signature. */
  public static byte[] signatureManifest(Layer... layers) {
    var m = new LinkedHashMap<String, Object>();
    m.put("schemaVersion", 2);
    m.put("mediaType", OciJson.IMAGE_MANIFEST);
    byte[] config = signatureConfig();
    m.put(
        "config",
        Map.of(
            "mediaType",
            OciJson.IMAGE_CONFIG,
            "digest",
            OciJson.sha256(config),
            "size",
            config.length));
    List<Object> ls = new ArrayList<>();
    for (Layer l : layers) {
      var d = new LinkedHashMap<String, Object>();
      d.put("mediaType", SIMPLE_SIGNING);
      d.put("digest", OciJson.sha256(l.payload()));
      d.put("size", l.payload().length);
      d.put(
          "annotations",
          Map.of(SIGNATURE_ANNOTATION, Base64.getEncoder().encodeToString(l.signature())));
      ls.add(d);
    }
    m.put("layers", ls);
    return OciJson.write(m);
  }

  /** DSSE's pre-authentication encoding, what a DSSE signature covers. */
  public static byte[] pae(String type, byte[] body) {
    byte[] head =
        ("DSSEv1 " + type.length() + " " + type + " " + body.length + " ")
            .getBytes(StandardCharsets.UTF_8);
    byte[] out = new byte[head.length + body.length];
    System.arraycopy(head, 0, out, 0, head.length);
    System.arraycopy(body, 0, out, head.length, body.length);
    return out;
  }

  /** An in-toto statement about {@code digest} named {@code name}. */
  public static byte[] statement(String name, String digest) {
    return ("{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[{\"name\":\""
            + name
            + "\",\"digest\":{\""
            + digest.substring(0, digest.indexOf(':'))
            + "\":\""
            + digest.substring(digest.indexOf(':') + 1)
            + "\"}}],\"predicateType\":\"https://sigstore.dev/cosign/sign/v1\",\"predicate\":{}}")
        .getBytes(StandardCharsets.UTF_8);
  }

  /** A v0.3 bundle: a DSSE envelope over {@code statement} with {@code signature}. */
  public static byte[] bundle(byte[] statement, byte[] signature) {
    var env = new LinkedHashMap<String, Object>();
    env.put("payload", Base64.getEncoder().encodeToString(statement));
    env.put("payloadType", IN_TOTO);
    env.put("signatures", List.of(Map.of("sig", Base64.getEncoder().encodeToString(signature))));
    var b = new LinkedHashMap<String, Object>();
    b.put("mediaType", BUNDLE);
    b.put("verificationMaterial", Map.of("publicKey", Map.of("hint", "test-key")));
    b.put("dsseEnvelope", env);
    return OciJson.write(b);
  }

  /** A bundle over {@code statement} signed (PAE) with {@code key}. */
  public static byte[] bundle(PrivateKey key, byte[] statement) {
    return bundle(statement, sign(key, pae(IN_TOTO, statement)));
  }

  /**
   * The referrer manifest carrying {@code bundle} about {@code subject} (push {@link #EMPTY_JSON}
   * and the bundle as blobs).
   */
  public static byte[] bundleManifest(byte[] bundle, OciJson.Descriptor subject) {
    var m = new LinkedHashMap<String, Object>();
    m.put("schemaVersion", 2);
    m.put("mediaType", OciJson.IMAGE_MANIFEST);
    m.put("artifactType", BUNDLE);
    m.put("config", Map.of("mediaType", EMPTY, "digest", OciJson.sha256(EMPTY_JSON), "size", 2));
    m.put(
        "layers",
        List.of(
            Map.of("mediaType", BUNDLE, "digest", OciJson.sha256(bundle), "size", bundle.length)));
    m.put(
        "subject",
        Map.of(
            "mediaType", subject.mediaType(), "digest", subject.digest(), "size", subject.size()));
    return OciJson.write(m);
  }
}
