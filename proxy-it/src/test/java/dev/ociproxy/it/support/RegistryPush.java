package dev.ociproxy.it.support;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.testing.OciJson;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

/**
 * Pushes single blobs and hand-made manifests (artifacts, signatures, referrers indexes) straight
 * to a real registry over its API, for what skopeo cannot push.
 */
public final class RegistryPush {
  private RegistryPush() {}

  /**
   * distribution's two-step upload: POST opens it, PUT with the digest closes it with the bytes.
   */
  public static void blob(UpstreamRegistry up, String repo, byte[] bytes) throws Exception {
    HttpResponse<Void> opened =
        Http.client()
            .send(
                HttpRequest.newBuilder(URI.create(up.url() + "/v2/" + repo + "/blobs/uploads/"))
                    .POST(HttpRequest.BodyPublishers.noBody())
                    .build(),
                HttpResponse.BodyHandlers.discarding());
    assertThat(opened.statusCode()).as("upload opened").isEqualTo(202);
    URI location =
        URI.create(up.url()).resolve(opened.headers().firstValue("Location").orElseThrow());
    String sep = location.getRawQuery() == null ? "?" : "&";
    HttpResponse<Void> r =
        Http.client()
            .send(
                HttpRequest.newBuilder(
                        URI.create(location + sep + "digest=" + OciJson.sha256(bytes)))
                    .header("Content-Type", "application/octet-stream")
                    .PUT(HttpRequest.BodyPublishers.ofByteArray(bytes))
                    .build(),
                HttpResponse.BodyHandlers.discarding());
    assertThat(r.statusCode()).as("blob upload").isEqualTo(201);
  }

  /** PUTs {@code m} as {@code repo}'s manifest {@code ref} (a tag or its digest). */
  public static void manifest(UpstreamRegistry up, String repo, String ref, String type, byte[] m)
      throws Exception {
    HttpResponse<String> r =
        Http.client()
            .send(
                HttpRequest.newBuilder(URI.create(up.url() + "/v2/" + repo + "/manifests/" + ref))
                    .header("Content-Type", type)
                    .PUT(HttpRequest.BodyPublishers.ofByteArray(m))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as("PUT %s: %s", ref, r.body()).isEqualTo(201);
  }
}
