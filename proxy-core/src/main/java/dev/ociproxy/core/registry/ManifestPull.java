package dev.ociproxy.core.registry;

import dev.ociproxy.core.cache.ContentStore;
import dev.ociproxy.core.cache.RepositoryLinks;
import dev.ociproxy.core.cache.TagIndex;
import dev.ociproxy.core.concurrent.Futures;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.ManifestDocument;
import dev.ociproxy.core.oci.MediaTypes;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.upstream.UpstreamClient;
import dev.ociproxy.core.upstream.UpstreamResponse;
import dev.ociproxy.core.verify.DigestHeader;
import dev.ociproxy.core.verify.ManifestCheck;
import dev.ociproxy.core.verify.VerificationException;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.jspecify.annotations.Nullable;

/**
 * One manifest {@code GET} from the upstream, as Jib's {@code ManifestPuller}: reads the body under
 * the size limit, has {@link ManifestCheck} decide whether it is what was asked for (a refusal is
 * reported and nothing is kept), and records what passed: the store, the links and, for a tag, its
 * mapping. Called by {@link ManifestFetcher} under its single flight and fetch limit. Thread-safe.
 */
final class ManifestPull {
  private final RegistryMeters meters;
  private final UpstreamClient client;
  private final ContentStore store;
  private final TagIndex tags;
  private final RepositoryLinks links;
  private final FetchLimiter limiter;
  private final long maxBytes;

  /**
   * @param maxBytes the longest manifest read ({@code cache.manifestMaxBytes}); longer is refused
   */
  ManifestPull(
      RegistryMeters meters,
      UpstreamClient client,
      ContentStore store,
      TagIndex tags,
      RepositoryLinks links,
      FetchLimiter limiter,
      long maxBytes) {
    this.meters = meters;
    this.client = client;
    this.store = store;
    this.tags = tags;
    this.links = links;
    this.limiter = limiter;
    this.maxBytes = maxBytes;
  }

  /** The digest the upstream's tag points at now, from the body; nothing is stored. */
  CompletableFuture<Digest> upstreamDigest(RepositoryName repo, Tag tag, List<String> accept) {
    String asked = repo + ":" + tag;
    return limiter
        .run(
            () ->
                client.request(
                    HttpMethod.GET,
                    PullThrough.v2(repo, "manifests", tag.value()),
                    repo.value(),
                    accept))
        .thenCompose(
            resp -> {
              if (resp.status() != 200) {
                resp.drain();
                throw UpstreamErrors.of(resp, OciErrorCode.MANIFEST_UNKNOWN, "manifest " + asked);
              }
              return readManifest(resp, repo, asked).thenApply(Digest::sha256);
            });
  }

  /** Fetches {@code digest}; kept (stored, linked) only if it hashes to it. */
  CompletableFuture<Manifest> byDigest(RepositoryName repo, Digest digest) {
    return client
        .request(
            HttpMethod.GET,
            PullThrough.v2(repo, "manifests", digest.toString()),
            repo.value(),
            MediaTypes.ALL_MANIFESTS)
        .thenCompose(
            resp -> {
              if (resp.status() != 200) {
                resp.drain();
                throw UpstreamErrors.of(resp, OciErrorCode.MANIFEST_UNKNOWN, "manifest " + digest);
              }
              return readManifest(resp, repo, digest.toString())
                  .thenApply(
                      body -> {
                        ManifestDocument doc =
                            checked(repo, digest.toString(), resp, body, digest).document();
                        store.putManifest(digest, body);
                        links.addServed(digest);
                        linkManifest(repo, digest, doc);
                        return new Manifest(digest, doc.mediaType(), body, false, false);
                      });
            });
  }

  /**
   * Fetches {@code repo:tag}; kept (stored under its sha256 and any other digest its header names,
   * linked, recorded as the tag's mapping) only if {@link ManifestCheck} passes it. A 404 forgets
   * the tag.
   */
  CompletableFuture<Manifest> byTag(RepositoryName repo, Tag tag, List<String> accept) {
    List<String> ask = ManifestFetcher.ask(accept);
    boolean askedForIndex = asksForIndex(accept);
    String asked = repo + ":" + tag;
    return client
        .request(HttpMethod.GET, PullThrough.v2(repo, "manifests", tag.value()), repo.value(), ask)
        .thenCompose(
            resp -> {
              if (resp.status() != 200) {
                resp.drain();
                if (resp.status() == 404) {
                  tags.remove(repo, tag);
                }
                throw UpstreamErrors.of(resp, OciErrorCode.MANIFEST_UNKNOWN, "manifest " + asked);
              }
              return readManifest(resp, repo, asked)
                  .thenApply(
                      body -> {
                        ManifestCheck.Passed passed = checked(repo, asked, resp, body, null);
                        Digest computed = passed.digest();
                        Digest claimed = passed.claimed();
                        ManifestDocument doc = passed.document();
                        String mediaType = doc.mediaType();
                        store.putManifest(computed, body);
                        links.addServed(computed);
                        linkManifest(repo, computed, doc);
                        if (claimed != null && !claimed.equals(computed)) {
                          store.putManifest(claimed, body);
                          links.addServed(claimed);
                          links.add(repo, claimed);
                        }
                        tags.put(
                            repo,
                            tag,
                            new TagIndex.Entry(
                                computed, mediaType, System.currentTimeMillis(), askedForIndex));
                        return new Manifest(computed, mediaType, body, false, false);
                      });
            });
  }

  /** Whether a client's Accept list lets the upstream answer a tag with an index. */
  static boolean asksForIndex(List<String> accept) {
    List<String> ask = ManifestFetcher.ask(accept);
    return ask.stream().anyMatch(MediaTypes::isIndex) || ask.contains("*/*");
  }

  private CompletableFuture<byte[]> readManifest(
      UpstreamResponse resp, RepositoryName repo, String asked) {
    return resp.aggregate(maxBytes)
        .whenComplete(
            (body, err) -> {
              if (body != null) {
                meters.received("manifest", body.length);
              }
            })
        .exceptionally(
            err -> {
              Throwable cause = Futures.cause(err);
              if (cause instanceof UpstreamResponse.BodyTooLargeException) {
                throw meters.refused(repo, asked, ManifestCheck.tooLarge(cause.getMessage()));
              }
              throw cause instanceof RuntimeException r ? r : new CompletionException(cause);
            });
  }

  /**
   * Records that the upstream served {@code digest} from {@code repo}, and with it everything the
   * manifest references: the upstream says the repository holds them. A hint only: the store's copy
   * of a referenced digest is handed out under this upstream once it has served those bytes itself.
   */
  private void linkManifest(RepositoryName repo, Digest digest, ManifestDocument doc) {
    linkManifest(links, repo, digest, doc);
  }

  /** As above, for a manifest verified from elsewhere (the shared store, {@link SharedReads}). */
  static void linkManifest(
      RepositoryLinks links, RepositoryName repo, Digest digest, ManifestDocument doc) {
    links.add(repo, digest);
    try {
      for (var d : doc.isIndex() ? doc.manifests() : doc.blobs()) {
        links.add(repo, d.digest());
      }
    } catch (RegistryException e) {
      // A descriptor we cannot parse links nothing; the manifest itself is still valid JSON.
    }
  }

  /**
   * The manifest as {@link ManifestCheck} passed it (by digest, or by tag when {@code requested} is
   * null); a refusal is reported and thrown.
   */
  private ManifestCheck.Passed checked(
      RepositoryName repo,
      String asked,
      UpstreamResponse resp,
      byte[] body,
      @Nullable Digest requested) {
    String header = resp.headers().get(DigestHeader.NAME);
    String contentType = resp.headers().get(HttpHeaderNames.CONTENT_TYPE);
    try {
      return requested != null
          ? ManifestCheck.byDigest(requested, body, header, contentType)
          : ManifestCheck.byTag(body, header, contentType);
    } catch (VerificationException v) {
      throw meters.refused(repo, asked, v);
    }
  }
}
