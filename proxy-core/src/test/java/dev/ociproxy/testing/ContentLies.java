package dev.ociproxy.testing;

import dev.ociproxy.testing.Lie.Kind;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Applies the content lies (body replacements, byte edits, header edits) to an honest 200 reply.
 */
final class ContentLies {
  static final int EXTRA_BYTE_COUNT = 16;
  private static final String DIGEST_HEADER = "Docker-Content-Digest";
  private static final String EMPTY_DIGEST =
      "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
  private static final Map<Long, String> OVERSIZED_DIGESTS = new ConcurrentHashMap<>();

  private ContentLies() {}

  static void apply(Reply r, Set<Kind> kinds, List<Lie> lies) {
    if (r.status != 200) {
      return;
    }
    // 1. Replacements: a whole other body, with headers that truly describe it.
    if (kinds.contains(Kind.MANIFEST_BY_DIGEST_SUBSTITUTED)) {
      r.body = substituteManifest();
      r.headers.put("Content-Type", OciJson.IMAGE_MANIFEST);
      r.headers.put(DIGEST_HEADER, OciJson.sha256(r.body));
    }
    if (kinds.contains(Kind.INVALID_JSON)) {
      r.body =
          ("{\"schemaVersion\":2,\"mediaType\":\"" + OciJson.IMAGE_MANIFEST + "\",\"layers\":[{")
              .getBytes(StandardCharsets.UTF_8);
      r.headers.put(DIGEST_HEADER, OciJson.sha256(r.body));
    }
    for (Lie lie : lies) {
      if (lie.kind() == Kind.OVERSIZED_MANIFEST) {
        long size = lie.bytes();
        r.streamed = new Reply.Streamed(size, () -> oversized(size));
        r.headers.put("Content-Type", OciJson.IMAGE_MANIFEST);
        r.headers.put(
            DIGEST_HEADER, OVERSIZED_DIGESTS.computeIfAbsent(size, ContentLies::digestOf));
      }
    }
    // 2. Byte edits under the honest headers (oversized bodies are never edited).
    if (r.streamed == null) {
      byte[] b = r.body.clone();
      if (kinds.contains(Kind.WRONG_BODY) || kinds.contains(Kind.OTHER_ALGORITHM_HEADER)) {
        for (int i = 0; i < b.length; i++) {
          b[i] ^= 0x5A;
        }
      }
      if (kinds.contains(Kind.FLIP_FIRST_BYTE) && b.length > 0) {
        b[0] ^= 1;
      }
      if ((kinds.contains(Kind.FLIP_LAST_BYTE) || kinds.contains(Kind.CHUNKED_WRONG))
          && b.length > 0) {
        b[b.length - 1] ^= 1;
      }
      if (kinds.contains(Kind.EXTRA_BYTES)) {
        b = Arrays.copyOf(b, b.length + EXTRA_BYTE_COUNT);
        Arrays.fill(b, b.length - EXTRA_BYTE_COUNT, b.length, (byte) ' ');
      }
      r.body = b;
    }
    // 3. Header edits.
    if (kinds.contains(Kind.MEDIA_TYPE_MISMATCH) && r.streamed == null) {
      String inJson = OciJson.mediaTypeOf(r.body);
      boolean isIndex =
          inJson.equals(OciJson.IMAGE_INDEX) || inJson.equals(OciJson.DOCKER_MANIFEST_LIST);
      r.headers.put("Content-Type", isIndex ? OciJson.IMAGE_MANIFEST : OciJson.IMAGE_INDEX);
    }
    if (kinds.contains(Kind.OTHER_ALGORITHM_HEADER) && r.streamed == null) {
      r.headers.put(DIGEST_HEADER, OciJson.sha512(r.body));
    }
    if (kinds.contains(Kind.FALSE_DIGEST_HEADER)) {
      r.headers.put(
          DIGEST_HEADER,
          OciJson.sha256(
              (r.headers.getOrDefault(DIGEST_HEADER, "") + " is false")
                  .getBytes(StandardCharsets.UTF_8)));
    }
    if (kinds.contains(Kind.NO_DIGEST_HEADER)) {
      r.headers.remove(DIGEST_HEADER);
    }
    for (Lie lie : lies) {
      if (lie.kind() == Kind.DIGEST_HEADER_TEXT) {
        r.headers.put(DIGEST_HEADER, lie.text());
      }
      String link = r.headers.get("Link");
      if (lie.kind() == Kind.LINK_QUERY && link != null && link.contains("?")) {
        r.headers.put("Link", link.replaceFirst("\\?", "?" + lie.text() + "&"));
      }
    }
  }

  /** The valid image manifest served by {@link Lie#MANIFEST_BY_DIGEST_SUBSTITUTED}. */
  static byte[] substituteManifest() {
    byte[] layer = "hostile substitute layer".getBytes(StandardCharsets.UTF_8);
    return OciJson.manifest(
        new OciJson.Descriptor("application/vnd.oci.empty.v1+json", EMPTY_DIGEST, 2),
        OciJson.layer(layer));
  }

  /** A valid manifest JSON of exactly {@code size} bytes, padded inside an annotation value. */
  static InputStream oversized(long size) {
    byte[] prefix =
        ("{\"schemaVersion\":2,\"mediaType\":\""
                + OciJson.IMAGE_MANIFEST
                + "\","
                + "\"config\":{\"mediaType\":\"application/vnd.oci.empty.v1+json\",\"digest\":\""
                + EMPTY_DIGEST
                + "\",\"size\":2},\"layers\":[],\"annotations\":{\"pad\":\"")
            .getBytes(StandardCharsets.UTF_8);
    byte[] suffix = "\"}}".getBytes(StandardCharsets.UTF_8);
    long pad = size - prefix.length - suffix.length;
    return new SequenceInputStream(
        new SequenceInputStream(new ByteArrayInputStream(prefix), new Padding(pad)),
        new ByteArrayInputStream(suffix));
  }

  private static String digestOf(long size) {
    MessageDigest md = OciJson.messageDigest("SHA-256");
    byte[] buf = new byte[64 * 1024];
    try (InputStream in = oversized(size)) {
      for (int n; (n = in.read(buf)) > 0; ) {
        md.update(buf, 0, n);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return "sha256:" + HexFormat.of().formatHex(md.digest());
  }

  /** {@code count} letters {@code a}, generated rather than stored. */
  private static final class Padding extends InputStream {
    private long left;

    Padding(long count) {
      left = count;
    }

    @Override
    public int read() {
      if (left <= 0) {
        return -1;
      }
      left--;
      return 'a';
    }

    @Override
    public int read(byte[] b, int off, int len) {
      if (left <= 0) {
        return -1;
      }
      int n = (int) Math.min(len, left);
      Arrays.fill(b, off, off + n, (byte) 'a');
      left -= n;
      return n;
    }
  }
}
