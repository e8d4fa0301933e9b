package dev.ociproxy.it.support;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ociproxy.testing.OciJson;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

/**
 * Pushes what no client here can (signature manifests, bundle referrers, payload blobs) straight to
 * a real registry with the distribution API.
 */
public final class RegistryPush {
  private RegistryPush() {}

  /**
   * distribution's two-step upload: POST opens it, PUT with the digest closes it with the bytes.
   */
  public static String blob(UpstreamRegistry up, String repo, byte[] bytes) throws Exception {
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
    String digest = OciJson.sha256(bytes);
    HttpResponse<Void> r =
        Http.client()
            .send(
                HttpRequest.newBuilder(URI.create(location + sep + "digest=" + digest))
                    .header("Content-Type", "application/octet-stream")
                    .PUT(HttpRequest.BodyPublishers.ofByteArray(bytes))
                    .build(),
                HttpResponse.BodyHandlers.discarding());
    assertThat(r.statusCode()).as("blob upload").isEqualTo(201);
    return digest;
  }

  /** PUTs a manifest under {@code ref} (a tag or its digest); returns its digest. */
  public static String manifest(
      UpstreamRegistry up, String repo, String ref, String mediaType, byte[] manifest)
      throws Exception {
    HttpResponse<String> r =
        Http.client()
            .send(
                HttpRequest.newBuilder(URI.create(up.url() + "/v2/" + repo + "/manifests/" + ref))
                    .header("Content-Type", mediaType)
                    .PUT(HttpRequest.BodyPublishers.ofByteArray(manifest))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as("PUT %s: %s", ref, r.body()).isEqualTo(201);
    return OciJson.sha256(manifest);
  }
}
