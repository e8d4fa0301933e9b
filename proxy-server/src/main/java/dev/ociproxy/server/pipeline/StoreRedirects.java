package dev.ociproxy.server.pipeline;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.registry.BlobSource;
import dev.ociproxy.core.registry.Registry;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which blob GETs may be answered with a redirect to the shared store ({@code
 * storage.s3.redirect}), and the answer: a whole GET over HTTP/1.1 only (a Range, like any HEAD, is
 * answered by the proxy), and never one whose credentials would follow it. Clients follow a
 * redirect with their own HTTP stack, and Go's (docker, containerd, skopeo, podman) keeps the
 * {@code Authorization} header when the new host is the one it asked, or a subdomain of it,
 * whatever the port: such a GET is answered directly, with one warning, rather than hand the
 * client's credentials to the bucket.
 */
final class StoreRedirects {
  private static final Logger log = LoggerFactory.getLogger(StoreRedirects.class);
  private static final AtomicBoolean warned = new AtomicBoolean();

  private StoreRedirects() {}

  /** The blob for {@code req}: maybe a redirect, passed through every rule of the registry. */
  static CompletableFuture<BlobSource> source(HttpRequest req, V2Request.GetBlob b) {
    Registry registry = b.registry();
    if (req.headers().contains(HttpHeaderNames.RANGE)
        || !HttpVersion.HTTP_1_1.equals(req.protocolVersion())) {
      return registry.blob(b.repository(), b.digest());
    }
    return registry
        .blobOrRedirect(b.repository(), b.digest())
        .thenCompose(
            s ->
                s instanceof BlobSource.Redirect r && credentialsWouldFollow(req, r.location())
                    ? registry.blob(b.repository(), b.digest())
                    : CompletableFuture.completedFuture(s));
  }

  /**
   * A 307 to {@code location}, the store's presigned GET of the blob: no body, nothing of the
   * request in it, and not to be cached (the URL expires).
   */
  static FullHttpResponse response(Digest digest, URI location) {
    FullHttpResponse r =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1, HttpResponseStatus.TEMPORARY_REDIRECT, Unpooled.EMPTY_BUFFER);
    r.headers()
        .set(HttpHeaderNames.LOCATION, location.toASCIIString())
        .set("Docker-Content-Digest", digest.toString())
        .set("Docker-Distribution-API-Version", "registry/2.0")
        .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE)
        .set(HttpHeaderNames.CONTENT_LENGTH, 0);
    return r;
  }

  /**
   * True when the client sent credentials and the redirect's host is the one it asked the proxy by
   * or a subdomain of it (Go's rule for keeping {@code Authorization}), or when that cannot be
   * told.
   */
  static boolean credentialsWouldFollow(HttpRequest req, URI location) {
    if (!req.headers().contains(HttpHeaderNames.AUTHORIZATION)) {
      return false;
    }
    String asked = hostOf(req.headers().get(HttpHeaderNames.HOST));
    String to = location.getHost();
    boolean follow =
        asked == null
            || to == null
            || to.equalsIgnoreCase(asked)
            || to.toLowerCase(Locale.ROOT).endsWith("." + asked.toLowerCase(Locale.ROOT));
    if (follow && warned.compareAndSet(false, true)) {
      log.warn(
          "storage.s3.redirect: answering blob GETs with credentials directly: clients ask this"
              + " proxy as {} and would send their Authorization on to the store at {}; give the"
              + " store a host name that is neither that one nor below it",
          asked,
          to);
    }
    return follow;
  }

  private static @Nullable String hostOf(@Nullable String hostHeader) {
    if (hostHeader == null || hostHeader.isBlank()) {
      return null;
    }
    try {
      return new URI("http://" + hostHeader.trim() + "/").getHost();
    } catch (URISyntaxException e) {
      return null;
    }
  }
}
