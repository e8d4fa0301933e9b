package dev.ociproxy.server.tls;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A PEM certificate chain and its private key, read and checked to belong together. Done with the
 * JDK alone (no BouncyCastle) so that a bad file is reported at start-up and by {@code
 * --check-config}, naming which file is wrong, rather than at the first TLS handshake.
 *
 * <p>Keys may be PKCS#8 ({@code BEGIN PRIVATE KEY}), PKCS#1 RSA ({@code BEGIN RSA PRIVATE KEY}) or
 * SEC1 EC ({@code BEGIN EC PRIVATE KEY}), the encodings openssl and cert-manager write. Encrypted
 * keys are refused.
 */
public record PemKeyPair(List<X509Certificate> chain, PrivateKey key) {
  private static final Pattern BLOCK =
      Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----([^-]*)-----END \\1-----");

  public PemKeyPair {
    chain = List.copyOf(chain);
  }

  /** Which of the two files a problem is in. */
  public enum Which {
    CERT,
    KEY
  }

  /** A file that cannot be used, and which one it is. */
  public static final class InvalidPemException extends Exception {
    private static final long serialVersionUID = 1L;
    private final Which which;

    InvalidPemException(Which which, String message) {
      super(message);
      this.which = which;
    }

    public Which which() {
      return which;
    }
  }

  /** Reads both files and checks that the key signs what the first certificate's key verifies. */
  public static PemKeyPair read(Path certFile, Path keyFile) throws InvalidPemException {
    List<X509Certificate> chain = readChain(certFile);
    PrivateKey key = readKey(keyFile);
    if (!matches(key, chain.get(0).getPublicKey())) {
      throw new InvalidPemException(
          Which.KEY,
          keyFile
              + " is not the private key of the certificate in "
              + certFile
              + " (subject "
              + chain.get(0).getSubjectX500Principal().getName()
              + ")");
    }
    return new PemKeyPair(chain, key);
  }

  static List<X509Certificate> readChain(Path file) throws InvalidPemException {
    String text = readText(Which.CERT, file);
    if (!text.contains("-----BEGIN CERTIFICATE-----")) {
      throw new InvalidPemException(
          Which.CERT, file + " holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)");
    }
    try {
      List<X509Certificate> out = new ArrayList<>();
      for (var c :
          CertificateFactory.getInstance("X.509")
              .generateCertificates(
                  new ByteArrayInputStream(text.getBytes(StandardCharsets.US_ASCII)))) {
        out.add((X509Certificate) c);
      }
      if (out.isEmpty()) {
        throw new InvalidPemException(Which.CERT, file + " holds no certificate");
      }
      return out;
    } catch (CertificateException e) {
      throw new InvalidPemException(
          Which.CERT, file + " is not a valid PEM certificate: " + e.getMessage());
    }
  }

  static PrivateKey readKey(Path file) throws InvalidPemException {
    Matcher m = BLOCK.matcher(readText(Which.KEY, file));
    while (m.find()) {
      String type = m.group(1);
      if (type.equals("EC PARAMETERS")) {
        continue; // openssl ecparam -genkey writes this block before the key
      }
      byte[] der;
      try {
        der = Base64.getMimeDecoder().decode(m.group(2).trim());
      } catch (IllegalArgumentException e) {
        throw new InvalidPemException(
            Which.KEY, file + ": the " + type + " block is not valid base64");
      }
      return switch (type) {
        case "PRIVATE KEY" -> pkcs8(file, der);
        case "RSA PRIVATE KEY" -> pkcs8(file, Der.wrapPkcs1Rsa(der));
        case "EC PRIVATE KEY" -> pkcs8(file, sec1(file, der));
        case "ENCRYPTED PRIVATE KEY" ->
            throw new InvalidPemException(
                Which.KEY,
                file
                    + " is encrypted (expected an unencrypted key; decrypt with: openssl pkcs8 -in KEY -out KEY.plain)");
        default ->
            throw new InvalidPemException(
                Which.KEY,
                file
                    + " holds a "
                    + type
                    + " block (expected PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)");
      };
    }
    throw new InvalidPemException(
        Which.KEY, file + " holds no PEM private key (expected -----BEGIN PRIVATE KEY-----)");
  }

  private static byte[] sec1(Path file, byte[] der) throws InvalidPemException {
    try {
      return Der.wrapSec1Ec(der);
    } catch (IllegalArgumentException e) {
      throw new InvalidPemException(
          Which.KEY, file + ": unreadable EC PRIVATE KEY: " + e.getMessage());
    }
  }

  private static PrivateKey pkcs8(Path file, byte[] der) throws InvalidPemException {
    PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(der);
    for (String alg : List.of("RSA", "EC", "Ed25519", "Ed448", "RSASSA-PSS")) {
      try {
        return KeyFactory.getInstance(alg).generatePrivate(spec);
      } catch (GeneralSecurityException | IllegalArgumentException e) {
        // try the next algorithm
      }
    }
    throw new InvalidPemException(
        Which.KEY,
        file + " holds a private key of an unsupported type (expected RSA, EC or Ed25519)");
  }

  private static boolean matches(PrivateKey key, PublicKey pub) {
    String alg =
        switch (key.getAlgorithm()) {
          case "RSA" -> "SHA256withRSA";
          case "EC" -> "SHA256withECDSA";
          default -> key.getAlgorithm(); // Ed25519, Ed448
        };
    byte[] probe = "registry-proxy key check".getBytes(StandardCharsets.US_ASCII);
    try {
      Signature s = Signature.getInstance(alg);
      s.initSign(key);
      s.update(probe);
      byte[] sig = s.sign();
      Signature v = Signature.getInstance(alg);
      v.initVerify(pub);
      v.update(probe);
      return v.verify(sig);
    } catch (GeneralSecurityException e) {
      return false; // different algorithms, or a key the certificate's key cannot verify
    }
  }

  private static String readText(Which which, Path file) throws InvalidPemException {
    try {
      return Files.readString(file, StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new InvalidPemException(which, "cannot read " + file + ": " + e);
    } catch (RuntimeException e) {
      throw new InvalidPemException(which, file + " is not a text (PEM) file");
    }
  }

  /** Just enough DER to re-wrap PKCS#1 and SEC1 keys as PKCS#8, which the JDK reads. */
  static final class Der {
    private static final byte[] RSA_ALGORITHM = hex("300d06092a864886f70d0101010500");
    private static final byte[] EC_PUBLIC_KEY_OID = hex("06072a8648ce3d0201");

    private Der() {}

    static byte[] wrapPkcs1Rsa(byte[] pkcs1) {
      return seq(concat(hex("020100"), RSA_ALGORITHM, tlv(0x04, pkcs1)));
    }

    /** SEC1 is SEQUENCE { INTEGER 1, OCTET STRING key, [0] OID curve OPTIONAL, [1] ... }. */
    static byte[] wrapSec1Ec(byte[] sec1) {
      int[] pos = {0};
      int seqLen = header(sec1, pos, 0x30);
      int end = pos[0] + seqLen;
      int versionLength = header(sec1, pos, 0x02);
      pos[0] += versionLength;
      int keyLength = header(sec1, pos, 0x04);
      pos[0] += keyLength;
      byte[] curve = null;
      while (pos[0] < end) {
        int tag = sec1[pos[0]] & 0xff;
        int len = header(sec1, pos, tag);
        if (tag == 0xa0) {
          curve = java.util.Arrays.copyOfRange(sec1, pos[0], pos[0] + len);
        }
        pos[0] += len;
      }
      if (curve == null) {
        throw new IllegalArgumentException("no curve named in the key (expected [0] parameters)");
      }
      return seq(concat(hex("020100"), seq(concat(EC_PUBLIC_KEY_OID, curve)), tlv(0x04, sec1)));
    }

    /** Reads a tag and length at pos[0]; leaves pos[0] at the content; returns the length. */
    private static int header(byte[] b, int[] pos, int expectedTag) {
      if (pos[0] + 2 > b.length || (b[pos[0]] & 0xff) != expectedTag) {
        throw new IllegalArgumentException("unexpected DER structure");
      }
      int p = pos[0] + 1;
      int len = b[p++] & 0xff;
      if (len > 0x80) {
        int n = len - 0x80;
        if (n > 3 || p + n > b.length) {
          throw new IllegalArgumentException("unexpected DER length");
        }
        len = 0;
        for (int i = 0; i < n; i++) {
          len = (len << 8) | (b[p++] & 0xff);
        }
      }
      if (p + len > b.length) {
        throw new IllegalArgumentException("truncated DER");
      }
      pos[0] = p;
      return len;
    }

    private static byte[] seq(byte[] content) {
      return tlv(0x30, content);
    }

    private static byte[] tlv(int tag, byte[] content) {
      ByteArrayOutputStream out = new ByteArrayOutputStream(content.length + 6);
      out.write(tag);
      int n = content.length;
      if (n < 0x80) {
        out.write(n);
      } else if (n < 0x100) {
        out.write(0x81);
        out.write(n);
      } else if (n < 0x10000) {
        out.write(0x82);
        out.write(n >> 8);
        out.write(n);
      } else {
        out.write(0x83);
        out.write(n >> 16);
        out.write(n >> 8);
        out.write(n);
      }
      out.writeBytes(content);
      return out.toByteArray();
    }

    private static byte[] concat(byte[]... parts) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      for (byte[] p : parts) {
        out.writeBytes(p);
      }
      return out.toByteArray();
    }

    private static byte[] hex(String s) {
      return java.util.HexFormat.of().parseHex(s);
    }
  }
}
