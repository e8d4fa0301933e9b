package dev.ociproxy.core.registry;

import dev.ociproxy.core.cache.TagIndex;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.upstream.UpstreamClient;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.jspecify.annotations.Nullable;

/**
 * Asks the upstream where a tag points with a {@code HEAD}: its {@code Docker-Content-Digest} is
 * how a stale tag is revalidated without a GET, which rate-limited upstreams (Docker Hub) count and
 * HEADs they do not. The digest is only a claim: equal to the one we verified, it lets us keep
 * serving bytes that hash to it; different, the manifest is fetched and verified as on a miss.
 */
final class TagHead {
  /** The upstream's answer; {@code digest} is null when it named none we can use. */
  record Claim(@Nullable Digest digest, @Nullable String mediaType, long length) {
    /** The claim as the answer to a HEAD, or null when it is not complete. */
    @Nullable ManifestHead asHead() {
      Digest d = digest;
      String type = mediaType;
      return d != null && type != null && length >= 0
          ? new ManifestHead(d, type, length, false, false)
          : null;
    }
  }

  private TagHead() {}

  /**
   * The upstream's claim for {@code repo:tag}. A 404 forgets the tag and fails as a GET would; a
   * 429 or 5xx fails as upstream trouble (the caller may serve stale); any other answer is a claim
   * without a digest, so the caller falls back to a GET.
   */
  static CompletableFuture<Claim> ask(
      UpstreamClient client, TagIndex tags, RepositoryName repo, Tag tag, List<String> accept) {
    return client
        .request(
            HttpMethod.HEAD, PullThrough.v2(repo, "manifests", tag.value()), repo.value(), accept)
        .thenApply(
            resp -> {
              resp.drain();
              int s = resp.status();
              if (s == 404) {
                tags.remove(repo, tag);
              }
              if (s == 404 || s == 429 || s >= 500) {
                throw UpstreamErrors.of(
                    resp, OciErrorCode.MANIFEST_UNKNOWN, "manifest " + repo + ":" + tag);
              }
              if (s != 200) {
                return new Claim(null, null, -1);
              }
              return new Claim(
                  digest(resp.headers().get("Docker-Content-Digest")),
                  resp.headers().get(HttpHeaderNames.CONTENT_TYPE),
                  resp.contentLength());
            });
  }

  private static @Nullable Digest digest(@Nullable String header) {
    if (header == null) {
      return null;
    }
    try {
      return Digest.parse(header.trim());
    } catch (RegistryException e) {
      return null; // unusable: a GET verifies whatever the tag points at
    }
  }

  /** The verified mapping, verified again now. */
  static TagIndex.Entry refreshed(TagIndex.Entry known) {
    return new TagIndex.Entry(
        known.digest(), known.mediaType(), System.currentTimeMillis(), known.askedForIndex());
  }
}
