package dev.ociproxy.server.pipeline;

import dev.ociproxy.core.cluster.Cluster;
import dev.ociproxy.core.cluster.PeerAuth;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.registry.PullThrough;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import java.util.function.Function;

/**
 * The internal path the fleet's replicas use on the main listener ({@link Cluster#PATH}): {@code
 * GET /_peer/ping} (health) and {@code GET /_peer/v2/<upstream>/<repository>/blobs/<digest>} (a
 * blob this replica owns). Every request must carry a valid {@link PeerAuth} MAC, checked before
 * anything else: without it a 401, whatever the path. The asking replica has already applied its
 * own client's authentication and access rules, so none are applied here. Exists only with a {@code
 * cluster} section; without one these paths are unknown (404) like any other.
 */
public final class PeerPath {
  /** What an authenticated peer request asks for. */
  sealed interface Request {}

  /** The health check. */
  record Ping() implements Request {}

  /** A blob of one upstream's repository, served from this replica's store or download. */
  record Blob(PullThrough upstream, RepositoryName repository, Digest digest) implements Request {}

  private static final String V2 = Cluster.PATH + "v2";

  private final Cluster cluster;
  private final Function<String, PullThrough> upstreams;

  /**
   * @param upstreams each configured upstream's pull-through by name; null for an unknown name
   */
  public PeerPath(Cluster cluster, Function<String, PullThrough> upstreams) {
    this.cluster = cluster;
    this.upstreams = upstreams;
  }

  static boolean matches(String uri) {
    return uri.startsWith(Cluster.PATH);
  }

  /** The authenticated request; a {@link RegistryException} (401, 404, 405) otherwise. */
  Request route(HttpRequest req) {
    String uri = req.uri();
    if (!cluster.authenticates(req.method().name(), uri, req.headers().get(PeerAuth.HEADER))) {
      throw new RegistryException(
          OciErrorCode.UNAUTHORIZED, 401, "the peer path needs the cluster secret");
    }
    if (!req.method().equals(HttpMethod.GET)) {
      throw new RegistryException(OciErrorCode.UNSUPPORTED, 405, "peers only GET");
    }
    if (uri.equals(Cluster.PING)) {
      return new Ping();
    }
    if (!uri.startsWith(V2 + "/") || uri.indexOf('?') >= 0) {
      throw unknown();
    }
    String path = uri.substring(Cluster.PATH.length() - 1); // /v2/<upstream>/<repo>/blobs/<d>
    String name = V2Router.nameBefore(path, V2Router.BLOBS);
    int slash = name == null ? -1 : name.indexOf('/');
    PullThrough upstream =
        name != null && slash > 0 ? upstreams.apply(name.substring(0, slash)) : null;
    if (name == null || upstream == null) {
      throw unknown();
    }
    return new Blob(
        upstream,
        new RepositoryName(name.substring(slash + 1)),
        Digest.parse(path.substring(path.lastIndexOf('/') + 1)));
  }

  private static RegistryException unknown() {
    return new RegistryException(OciErrorCode.NAME_UNKNOWN, 404, "unknown peer path");
  }
}
