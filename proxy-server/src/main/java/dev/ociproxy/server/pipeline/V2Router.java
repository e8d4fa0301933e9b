package dev.ociproxy.server.pipeline;

import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.Reference;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.registry.Mirror;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns a request line into a {@link V2Request}, choosing the upstream by path prefix ({@code
 * /v2/<upstream>/<repo>/…}), containerd's {@code ?ns=<upstream>}, or the default upstream.
 * Everything is validated against the spec grammar here, before any network or disk access.
 */
final class V2Router {
  /** Longest request URI we look at; the codec already caps the request line. */
  static final int MAX_URI_LENGTH = 4096;

  private static final Pattern MANIFEST = Pattern.compile("/v2/(.+)/manifests/([^/]+)");
  private static final Pattern BLOB = Pattern.compile("/v2/(.+)/blobs/([^/]+)");
  private static final Pattern UPLOAD = Pattern.compile("/v2/(.+)/blobs/uploads(/.*)?");
  private static final Pattern TAGS = Pattern.compile("/v2/(.+)/tags/list");

  private final Map<String, Mirror> byName;
  private final Mirror defaultMirror;

  V2Router(Map<String, Mirror> byName, Mirror defaultMirror) {
    this.byName = Map.copyOf(byName);
    this.defaultMirror = defaultMirror;
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
    if (path.indexOf('%') >= 0 || path.contains("//") || path.contains("/./") || path.contains("/../")
        || path.endsWith("/..") || path.endsWith("/.") || path.indexOf('\\') >= 0) {
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
    if (UPLOAD.matcher(path).matches()) {
      throw unsupported();
    }
    Matcher m;
    if ((m = MANIFEST.matcher(path)).matches()) {
      if (!read) {
        throw unsupported();
      }
      Target t = target(m.group(1), ns);
      return new V2Request.GetManifest(
          t.mirror, t.repo, m.group(1), Reference.parse(m.group(2)), method.equals(HttpMethod.HEAD));
    }
    if ((m = BLOB.matcher(path)).matches()) {
      if (!read) {
        throw unsupported();
      }
      Target t = target(m.group(1), ns);
      return new V2Request.GetBlob(
          t.mirror, t.repo, m.group(1), Digest.parse(m.group(2)), method.equals(HttpMethod.HEAD));
    }
    if ((m = TAGS.matcher(path)).matches()) {
      if (!read) {
        throw unsupported();
      }
      Target t = target(m.group(1), ns);
      return new V2Request.ListTags(t.mirror, t.repo, m.group(1), tagQuery(qs));
    }
    if (!read) {
      throw unsupported();
    }
    throw new RegistryException(OciErrorCode.NAME_UNKNOWN, 404, "unknown registry API endpoint");
  }

  private static RegistryException unsupported() {
    return new RegistryException(
        OciErrorCode.UNSUPPORTED, 405, "this is a read-only pull-through proxy");
  }

  private record Target(Mirror mirror, RepositoryName repo) {}

  private Target target(String name, String ns) {
    if (name.length() > 512) {
      throw new RegistryException(OciErrorCode.NAME_INVALID, "repository name too long");
    }
    if (ns != null) {
      Mirror m = byName.get(ns);
      if (m == null) {
        throw new RegistryException(OciErrorCode.NAME_UNKNOWN, 404, "unknown upstream: " + abbreviate(ns));
      }
      return new Target(m, repository(m, name));
    }
    int slash = name.indexOf('/');
    if (slash > 0) {
      String first = name.substring(0, slash);
      Mirror m = byName.get(first);
      if (m != null) {
        return new Target(m, repository(m, name.substring(slash + 1)));
      }
      if (looksLikeHost(first)) {
        // Docker's rule: a first component with a dot or port names a registry, never a path.
        throw new RegistryException(OciErrorCode.NAME_UNKNOWN, 404, "unknown upstream: " + abbreviate(first));
      }
    }
    if (defaultMirror == null) {
      throw new RegistryException(OciErrorCode.NAME_UNKNOWN, 404,
          "no upstream named in the path and no default upstream configured");
    }
    return new Target(defaultMirror, repository(defaultMirror, name));
  }

  private static boolean looksLikeHost(String component) {
    return component.indexOf('.') >= 0 || component.indexOf(':') >= 0 || component.equals("localhost");
  }

  private static RepositoryName repository(Mirror m, String name) {
    RepositoryName repo = new RepositoryName(name);
    if (m.client().options().isDockerHub() && name.indexOf('/') < 0) {
      return new RepositoryName("library/" + name);
    }
    return repo;
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
        throw new RegistryException(OciErrorCode.UNSUPPORTED, 400, "invalid last: " + abbreviate(last));
      }
      q.append(q.length() == 0 ? "" : "&").append("last=").append(last);
    }
    return q.toString();
  }

  private static String first(Map<String, List<String>> params, String key) {
    List<String> v = params.get(key);
    return v == null || v.isEmpty() ? null : v.get(0);
  }

  private static String abbreviate(String s) {
    return s.length() <= 100 ? s : s.substring(0, 100) + "…";
  }
}
