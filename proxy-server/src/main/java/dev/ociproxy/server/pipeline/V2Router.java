package dev.ociproxy.server.pipeline;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.Reference;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.registry.Registry;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Turns a request line into a {@link V2Request}, choosing the upstream by path prefix ({@code
 * /v2/<upstream>/<repo>/…}), containerd's {@code ?ns=<upstream>}, or the default upstream.
 * Everything is validated against the spec grammar here, before any network or disk access.
 */
final class V2Router {
  /** Longest request URI we look at; the codec already caps the request line. */
  static final int MAX_URI_LENGTH = 4096;

  // The path shapes, matched by hand rather than by regular expressions: this runs on every
  // request.
  private static final String PREFIX = "/v2/";
  static final String MANIFESTS = "/manifests";
  static final String BLOBS = "/blobs";
  private static final String UPLOADS = "/blobs/uploads";
  private static final String TAGS = "/tags/list";
  static final String REFERRERS = "/referrers";
  // RFC 6838's type/subtype, which is what an artifactType is.
  private static final Pattern MEDIA_TYPE =
      Pattern.compile(
          "[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}");

  private final Map<String, Upstream> byName;
  private final @Nullable Upstream defaultUpstream;

  /**
   * @param defaultUpstream what names without an upstream prefix mean; null when there is none
   */
  V2Router(Map<String, Upstream> byName, @Nullable Upstream defaultUpstream) {
    this.byName = Map.copyOf(byName);
    this.defaultUpstream = defaultUpstream;
  }

  /** The names clients may address upstreams by (path prefix or {@code ?ns=}). */
  Set<String> upstreamNames() {
    return byName.keySet();
  }

  V2Request route(HttpMethod method, String uri) {
    if (uri.length() > MAX_URI_LENGTH) {
      throw new RegistryException(OciErrorCode.NAME_INVALID, 414, "request URI too long");
    }
    QueryStringDecoder qs = new QueryStringDecoder(uri);
    String path = qs.rawPath();
    if (path.indexOf('%') >= 0
        || path.contains("//")
        || path.contains("/./")
        || path.contains("/../")
        || path.endsWith("/..")
        || path.endsWith("/.")
        || path.indexOf('\\') >= 0) {
      throw new RegistryException(OciErrorCode.NAME_INVALID, "invalid request path");
    }
    boolean read = method.equals(HttpMethod.GET) || method.equals(HttpMethod.HEAD);
    if (path.equals("/v2") || path.equals("/v2/")) {
      if (!read) {
        throw unsupported();
      }
      return new V2Request.ApiVersionCheck();
    }
    if (!path.startsWith("/v2/")) {
      throw new RegistryException(OciErrorCode.NAME_UNKNOWN, 404, "not a registry API path");
    }
    String ns = first(qs.parameters(), "ns");
    if (isUpload(path)) {
      throw unsupported();
    }
    String name;
    boolean head = method.equals(HttpMethod.HEAD);
    if ((name = nameBefore(path, MANIFESTS)) != null) {
      Target t = readTarget(read, name, ns);
      return new V2Request.GetManifest(
          t.registry, t.repo, name, reference(lastSegment(path)), head);
    }
    if ((name = nameBefore(path, BLOBS)) != null) {
      Target t = readTarget(read, name, ns);
      return new V2Request.GetBlob(t.registry, t.repo, name, Digest.parse(lastSegment(path)), head);
    }
    if ((name = nameBefore(path, REFERRERS)) != null) {
      Target t = readTarget(read, name, ns);
      return new V2Request.GetReferrers(
          t.registry, t.repo, name, Digest.parse(lastSegment(path)), artifactType(qs), head);
    }
    if (path.endsWith(TAGS) && path.length() > PREFIX.length() + TAGS.length()) {
      if (!read) {
        throw unsupported();
      }
      name = path.substring(PREFIX.length(), path.length() - TAGS.length());
      Target t = target(name, ns);
      return new V2Request.ListTags(t.registry, t.repo, name, tagQuery(qs));
    }
    if (!read) {
      throw unsupported();
    }
    throw new RegistryException(OciErrorCode.NAME_UNKNOWN, 404, "unknown registry API endpoint");
  }

  /** The target of a read-only endpoint: any other method is unsupported, before the name. */
  private Target readTarget(boolean read, String name, @Nullable String ns) {
    if (!read) {
      throw unsupported();
    }
    return target(name, ns);
  }

  /**
   * For {@code /v2/<name><kind>/<ref>}, with a non-empty name and a ref without '/': the name;
   * otherwise null. Whatever the name holds is validated later against the spec grammar.
   */
  static @Nullable String nameBefore(String path, String kind) {
    int lastSlash = path.lastIndexOf('/');
    int kindStart = lastSlash - kind.length();
    if (!path.startsWith(PREFIX)
        || lastSlash == path.length() - 1
        || kindStart <= PREFIX.length()
        || !path.startsWith(kind, kindStart)) {
      return null;
    }
    return path.substring(PREFIX.length(), kindStart);
  }

  /**
   * A digest (malformed: 400 DIGEST_INVALID) or a tag. A tag outside the spec's grammar cannot
   * exist anywhere, so it is a 404 MANIFEST_UNKNOWN, as the conformance suite expects, and is never
   * asked of the upstream.
   */
  private static Reference reference(String s) {
    if (Digest.looksLikeDigest(s)) {
      return Digest.parse(s);
    }
    if (!Tag.isValid(s)) {
      throw new RegistryException(
          OciErrorCode.MANIFEST_UNKNOWN,
          404,
          "no such tag: " + abbreviate(s) + " (tags match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127})");
    }
    return new Tag(s);
  }

  private static String lastSegment(String path) {
    return path.substring(path.lastIndexOf('/') + 1);
  }

  /** {@code /v2/<name>/blobs/uploads} with or without anything after a further '/'. */
  static boolean isUpload(String path) {
    if (!path.startsWith(PREFIX)) {
      return false;
    }
    for (int i = path.indexOf(UPLOADS, PREFIX.length() + 1);
        i >= 0;
        i = path.indexOf(UPLOADS, i + 1)) {
      int end = i + UPLOADS.length();
      if (end == path.length() || path.charAt(end) == '/') {
        return true;
      }
    }
    return false;
  }

  private static RegistryException unsupported() {
    return new RegistryException(
        OciErrorCode.UNSUPPORTED, 405, "this is a read-only pull-through proxy");
  }

  private record Target(Registry registry, RepositoryName repo) {}

  private Target target(String name, @Nullable String ns) {
    if (name.length() > 512) {
      throw new RegistryException(OciErrorCode.NAME_INVALID, "repository name too long");
    }
    if (ns != null) {
      Upstream u = byName.get(ns);
      if (u == null) {
        throw new RegistryException(
            OciErrorCode.NAME_UNKNOWN, 404, "unknown upstream: " + abbreviate(ns));
      }
      return new Target(u.registry(), u.repository(name));
    }
    int slash = name.indexOf('/');
    if (slash > 0) {
      String first = name.substring(0, slash);
      Upstream u = byName.get(first);
      if (u != null) {
        return new Target(u.registry(), u.repository(name.substring(slash + 1)));
      }
      if (looksLikeHost(first)) {
        // Docker's rule: a first component with a dot or port names a registry, never a path.
        throw new RegistryException(
            OciErrorCode.NAME_UNKNOWN, 404, "unknown upstream: " + abbreviate(first));
      }
    }
    if (slash < 0 && byName.containsKey(name)) {
      // An upstream's name alone: the repository is missing, not a repository of the default.
      throw new RegistryException(
          OciErrorCode.NAME_UNKNOWN,
          404,
          "'"
              + name
              + "' is an upstream, not a repository (expected /v2/"
              + name
              + "/<repository>/...)");
    }
    if (defaultUpstream == null) {
      throw new RegistryException(
          OciErrorCode.NAME_UNKNOWN,
          404,
          "no upstream named in the path and no default upstream configured");
    }
    return new Target(defaultUpstream.registry(), defaultUpstream.repository(name));
  }

  private static boolean looksLikeHost(String component) {
    return component.indexOf('.') >= 0
        || component.indexOf(':') >= 0
        || component.equals("localhost");
  }

  /** The {@code artifactType} filter, or null; malformed: 400, as it can match nothing. */
  private static @Nullable String artifactType(QueryStringDecoder qs) {
    String type = first(qs.parameters(), "artifactType");
    if (type != null) {
      type = type.replace(' ', '+'); // an unescaped '+' (application/spdx+json) decodes as a space
    }
    if (type != null && !MEDIA_TYPE.matcher(type).matches()) {
      throw new RegistryException(
          OciErrorCode.UNSUPPORTED, 400, "invalid artifactType: " + abbreviate(type));
    }
    return type;
  }

  private static String tagQuery(QueryStringDecoder qs) {
    StringBuilder q = new StringBuilder();
    String n = first(qs.parameters(), "n");
    String last = first(qs.parameters(), "last");
    if (n != null) {
      if (!n.matches("[0-9]{1,6}")) {
        throw new RegistryException(OciErrorCode.UNSUPPORTED, 400, "invalid n: " + abbreviate(n));
      }
      q.append("n=").append(n);
    }
    if (last != null) {
      if (!last.matches("[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")) {
        throw new RegistryException(
            OciErrorCode.UNSUPPORTED, 400, "invalid last: " + abbreviate(last));
      }
      q.append(q.length() == 0 ? "" : "&").append("last=").append(last);
    }
    return q.toString();
  }

  private static @Nullable String first(Map<String, List<String>> params, String key) {
    List<String> v = params.get(key);
    return v == null || v.isEmpty() ? null : v.get(0);
  }

  private static String abbreviate(String s) {
    return s.length() <= 100 ? s : s.substring(0, 100) + "…";
  }
}
