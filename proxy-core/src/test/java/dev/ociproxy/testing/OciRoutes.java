package dev.ociproxy.testing;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The honest OCI distribution read API: {@code /v2/}, blobs, manifests and tags list, answered from
 * a {@link ContentStore} the way CNCF distribution answers them.
 */
final class OciRoutes {
  private static final Pattern DIGEST =
      Pattern.compile("[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+");

  /** What a path names; {@code repo} and {@code reference} are null where they do not apply. */
  record Route(Kind kind, String repo, String reference) {
    enum Kind {
      BASE,
      BLOB,
      MANIFEST,
      REFERRERS,
      TAGS,
      TOKEN,
      OTHER
    }
  }

  private OciRoutes() {}

  static Route parse(String path) {
    if (path.equals("/v2") || path.equals("/v2/")) {
      return new Route(Route.Kind.BASE, null, null);
    }
    if (path.equals("/token")) {
      return new Route(Route.Kind.TOKEN, null, null);
    }
    if (!path.startsWith("/v2/")) {
      return new Route(Route.Kind.OTHER, null, null);
    }
    String rest = path.substring(4);
    if (rest.endsWith("/tags/list") && rest.length() > "/tags/list".length()) {
      return new Route(
          Route.Kind.TAGS, rest.substring(0, rest.length() - "/tags/list".length()), null);
    }
    for (var kind : List.of(Route.Kind.BLOB, Route.Kind.MANIFEST, Route.Kind.REFERRERS)) {
      String marker =
          switch (kind) {
            case BLOB -> "/blobs/";
            case MANIFEST -> "/manifests/";
            default -> "/referrers/";
          };
      int at = rest.lastIndexOf(marker);
      if (at > 0) {
        String ref = rest.substring(at + marker.length());
        if (!ref.isEmpty() && !ref.contains("/")) {
          return new Route(kind, rest.substring(0, at), ref);
        }
      }
    }
    return new Route(Route.Kind.OTHER, null, null);
  }

  /** The honest answer to a GET or HEAD (token requests are answered by {@link AuthGate}). */
  static Reply answer(RecordedRequest req, Route route, ContentStore store) {
    if (!req.method().equals("GET") && !req.method().equals("HEAD")) {
      return Reply.error(405, "UNSUPPORTED", "this registry is read-only", req.method());
    }
    switch (route.kind()) {
      case BASE:
        return Reply.json(200, "{}".getBytes(java.nio.charset.StandardCharsets.UTF_8));
      case OTHER:
      case TOKEN:
        return Reply.error(404, "UNSUPPORTED", "no such endpoint", req.path());
      default:
        break;
    }
    String repo = route.repo();
    if (!store.hasRepository(repo)) {
      return Reply.error(404, "NAME_UNKNOWN", "repository name not known to registry", repo);
    }
    switch (route.kind()) {
      case TAGS:
        return tags(req, repo, store);
      case BLOB:
        return blob(route, store);
      default:
        return manifest(route, store);
    }
  }

  private static Reply blob(Route route, ContentStore store) {
    String digest = route.reference();
    if (!DIGEST.matcher(digest).matches()) {
      return Reply.error(
          400, "DIGEST_INVALID", "provided digest did not match uploaded content", digest);
    }
    byte[] bytes = store.blob(route.repo(), digest);
    if (bytes == null) {
      return Reply.error(404, "BLOB_UNKNOWN", "blob unknown to registry", digest);
    }
    Reply r =
        new Reply(200)
            .header("Content-Type", "application/octet-stream")
            .header("Docker-Content-Digest", digest)
            .header("Accept-Ranges", "bytes")
            .header("ETag", "\"" + digest + "\"");
    r.body = bytes;
    r.rangeable = true;
    return r;
  }

  private static Reply manifest(Route route, ContentStore store) {
    ContentStore.Manifest m = store.manifest(route.repo(), route.reference());
    if (m == null) {
      return Reply.error(404, "MANIFEST_UNKNOWN", "manifest unknown", route.reference());
    }
    Reply r =
        new Reply(200)
            .header("Content-Type", m.mediaType())
            .header("Docker-Content-Digest", m.digest())
            .header("ETag", "\"" + m.digest() + "\"");
    r.body = m.bytes();
    return r;
  }

  /** Lists tags with distribution's {@code n}/{@code last} pagination and {@code Link} header. */
  private static Reply tags(RecordedRequest req, String repo, ContentStore store) {
    List<String> all = store.tags(repo);
    String last = req.queryParam("last").orElse(null);
    List<String> after =
        last == null ? all : all.stream().filter(t -> t.compareTo(last) > 0).toList();
    Integer n = null;
    if (req.queryParam("n").isPresent()) {
      try {
        n = Integer.parseInt(req.queryParam("n").get());
      } catch (NumberFormatException e) {
        n = -1;
      }
      if (n < 0) {
        return Reply.error(
            400,
            "PAGINATION_NUMBER_INVALID",
            "invalid number of results requested",
            req.queryParam("n").get());
      }
    }
    List<String> page = n == null || n >= after.size() ? after : after.subList(0, n);
    var body = new LinkedHashMap<String, Object>();
    body.put("name", repo);
    body.put("tags", page);
    Reply r = Reply.json(200, OciJson.write(body));
    if (n != null && n > 0 && page.size() < after.size()) {
      r.header(
          "Link",
          "</v2/"
              + repo
              + "/tags/list?last="
              + page.get(page.size() - 1)
              + "&n="
              + n
              + ">; rel=\"next\"");
    }
    return r;
  }
}
