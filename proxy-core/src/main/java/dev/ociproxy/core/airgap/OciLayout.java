package dev.ociproxy.core.airgap;

import dev.ociproxy.core.oci.Digest;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;
import org.jspecify.annotations.Nullable;

/** Names and helpers of the OCI image layout (image-spec {@code image-layout.md}). */
final class OciLayout {
  static final String LAYOUT_FILE = "oci-layout";
  static final String INDEX_FILE = "index.json";
  static final String LAYOUT_CONTENT = "{\"imageLayoutVersion\":\"1.0.0\"}";

  /** The annotation that names an image in {@code index.json}; skopeo's {@code oci:DIR:NAME}. */
  static final String REF_NAME = "org.opencontainers.image.ref.name";

  /** containerd's full image name annotation, read as a fallback on import. */
  static final String CONTAINERD_NAME = "io.containerd.image.name";

  /** Largest index.json or oci-layout file read. */
  static final long MAX_METADATA_BYTES = 16L * 1024 * 1024;

  private OciLayout() {}

  /** {@code blobs/<alg>/<hex>}. */
  static String blobPath(Digest d) {
    return "blobs/" + d.algorithm().id() + "/" + d.hex();
  }

  /** The digest a layout path names, or null when {@code path} is not {@code blobs/<alg>/<hex>}. */
  static @Nullable Digest digestOfPath(String path) {
    String[] parts = path.split("/");
    if (parts.length != 3 || !parts[0].equals("blobs")) {
      return null;
    }
    try {
      return Digest.parse(parts[1] + ":" + parts[2]);
    } catch (RuntimeException e) {
      return null;
    }
  }

  /** Copies {@code in} to {@code out} while hashing with {@code expected}'s algorithm. */
  static Copied copy(InputStream in, @Nullable OutputStream out, Digest expected)
      throws IOException {
    MessageDigest md = expected.algorithm().newMessageDigest();
    byte[] buf = new byte[1 << 16];
    long n = 0;
    for (int r; (r = in.read(buf)) > 0; ) {
      md.update(buf, 0, r);
      if (out != null) {
        out.write(buf, 0, r);
      }
      n += r;
    }
    return new Copied(Digest.finish(expected.algorithm(), md), n);
  }

  /** What a copy saw: the digest of the bytes and how many there were. */
  record Copied(Digest actual, long size) {}
}
