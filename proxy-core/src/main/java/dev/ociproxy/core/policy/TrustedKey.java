package dev.ociproxy.core.policy;

import static java.util.Objects.requireNonNull;

import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.InvalidKeyException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.security.Signature;
import java.security.SignatureException;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.InvalidKeySpecException;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * A public key a policy trusts, as cosign uses it: ECDSA (SHA-256 over P-256, SHA-384 over P-384,
 * SHA-512 over P-521; DER signatures), RSA (PKCS#1 v1.5 with SHA-256) or Ed25519.
 *
 * @param name where it came from (a key file or {@code keyData}), for logs and refusals
 */
public record TrustedKey(String name, PublicKey key) {
  private static final Pattern PEM =
      Pattern.compile("-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\\s]+)-----END PUBLIC KEY-----");

  private static final Map<ECParameterSpec, String> CURVES =
      Map.of(
          curve("secp256r1"), "SHA256", curve("secp384r1"), "SHA384", curve("secp521r1"), "SHA512");

  public TrustedKey {
    requireNonNull(name, "name");
    requireNonNull(key, "key");
  }

  /**
   * Reads one PEM {@code PUBLIC KEY} (SubjectPublicKeyInfo), as {@code cosign generate-key-pair}
   * writes it.
   *
   * @throws IllegalArgumentException when {@code pem} holds no such key or a kind cosign never uses
   */
  public static TrustedKey fromPem(String name, String pem) {
    Matcher m = PEM.matcher(pem);
    if (!m.find()) {
      throw new IllegalArgumentException(
          "holds no PEM public key (expected -----BEGIN PUBLIC KEY-----)");
    }
    byte[] der;
    try {
      der = Base64.getMimeDecoder().decode(m.group(1));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("the PEM public key is not valid base64");
    }
    for (String algorithm : List.of("EC", "RSA", "Ed25519")) {
      try {
        PublicKey k = KeyFactory.getInstance(algorithm).generatePublic(new X509EncodedKeySpec(der));
        if (k instanceof ECPublicKey ec && hashFor(ec) == null) {
          throw new IllegalArgumentException(
              "an EC key on a curve cosign does not use (expected P-256, P-384 or P-521)");
        }
        return new TrustedKey(name, k);
      } catch (InvalidKeySpecException e) {
        // not this algorithm's key; try the next
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException("the JDK lacks " + algorithm, e);
      }
    }
    throw new IllegalArgumentException("the PEM public key is not an EC, RSA or Ed25519 key");
  }

  /** True when {@code signature} is this key's signature over {@code data}. */
  public boolean verifies(byte[] data, byte[] signature) {
    try {
      Signature s = Signature.getInstance(algorithm());
      s.initVerify(key);
      s.update(data);
      return s.verify(signature);
    } catch (SignatureException e) {
      return false; // not even well-formed for this key (a DER that does not parse, say)
    } catch (InvalidKeyException | NoSuchAlgorithmException e) {
      throw new IllegalStateException("cannot verify with " + name, e);
    }
  }

  /** The first 16 hex digits of the SHA-256 of the key's DER form, to tell keys apart in logs. */
  public String fingerprint() {
    try {
      byte[] h = MessageDigest.getInstance("SHA-256").digest(key.getEncoded());
      return HexFormat.of().formatHex(h, 0, 8);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** {@code name (fingerprint)}, as logs and messages show a key. */
  @Override
  public String toString() {
    return name + " (" + fingerprint() + ")";
  }

  private String algorithm() {
    if (key instanceof ECPublicKey ec) {
      return hashFor(ec) + "withECDSA";
    }
    return key.getAlgorithm().equals("RSA") ? "SHA256withRSA" : "Ed25519";
  }

  /**
   * The hash cosign pairs with the key's curve (sigstore's signature.LoadVerifier); null for a
   * curve it does not use (secp256k1 has the same size as P-256, so the curve itself is compared).
   */
  private static @Nullable String hashFor(ECPublicKey ec) {
    for (var c : CURVES.entrySet()) {
      ECParameterSpec p = c.getKey();
      ECParameterSpec k = ec.getParams();
      if (p.getCurve().equals(k.getCurve())
          && p.getGenerator().equals(k.getGenerator())
          && p.getOrder().equals(k.getOrder())) {
        return c.getValue();
      }
    }
    return null;
  }

  private static ECParameterSpec curve(String name) {
    try {
      AlgorithmParameters p = AlgorithmParameters.getInstance("EC");
      p.init(new ECGenParameterSpec(name));
      return p.getParameterSpec(ECParameterSpec.class);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK lacks curve " + name, e);
    }
  }
}
