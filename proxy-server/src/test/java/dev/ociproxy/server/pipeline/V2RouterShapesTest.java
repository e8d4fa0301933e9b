package dev.ociproxy.server.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The router matches path shapes by hand; these hold it to the regular expressions it replaced. */
class V2RouterShapesTest {
  private static final Pattern MANIFEST = Pattern.compile("/v2/(.+)/manifests/([^/]+)");
  private static final Pattern BLOB = Pattern.compile("/v2/(.+)/blobs/([^/]+)");
  private static final Pattern UPLOAD = Pattern.compile("/v2/(.+)/blobs/uploads(/.*)?");
  private static final String[] PIECES = {
    "/v2/",
    "/",
    "a",
    "b/c",
    "manifests",
    "/manifests/",
    "blobs",
    "/blobs/",
    "uploads",
    "/blobs/uploads",
    "x",
    ":",
    "sha256:ab"
  };

  private final Random random = new Random(11);

  @Test
  void manifestBlobAndUploadShapesAgreeWithTheRegularExpressions() {
    for (int i = 0; i < 100_000; i++) {
      StringBuilder b = new StringBuilder(random.nextInt(8) == 0 ? "" : "/v2/");
      for (int n = random.nextInt(6); n >= 0; n--) {
        b.append(PIECES[random.nextInt(PIECES.length)]);
      }
      String path = b.toString();
      assertThat(V2Router.nameBefore(path, V2Router.MANIFESTS))
          .as(path)
          .isEqualTo(name(MANIFEST, path));
      assertThat(V2Router.nameBefore(path, V2Router.BLOBS)).as(path).isEqualTo(name(BLOB, path));
      assertThat(V2Router.isUpload(path)).as(path).isEqualTo(UPLOAD.matcher(path).matches());
    }
  }

  private static String name(Pattern p, String path) {
    Matcher m = p.matcher(path);
    return m.matches() ? m.group(1) : null;
  }
}
