package dev.ociproxy.server.pipeline;

import dev.ociproxy.core.cluster.Cluster;
import dev.ociproxy.core.cluster.PeerAuth;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.registry.PeerTag;
import dev.ociproxy.core.registry.PullThrough;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

/**
 * The internal path the fleet's replicas use on the main listener ({@link Cluster#PATH}): {@code
 * GET /_peer/ping} (health), {@code GET /_peer/v2/<upstream>/<repository>/blobs/<digest>} (a blob
 * this replica owns) and {@code GET
 * /_peer/v2/<upstream>/<repository>/manifests/<tag>[?accept=<media types, comma-separated>]} (what
 * a tag this replica owns names now, as a {@link PeerTag}). Every request must carry a valid {@link
 * PeerAuth} MAC, checked before anything else: without it a 401, whatever the path. The asking
 * replica has already applied its own client's authentication and access rules, so none are applied
 * here. Exists only with a {@code cluster} section; without one these paths are unknown (404) like
 * any other.
 */
public final class PeerPath {
  /** What an authenticated peer request asks for. */
  sealed interface Request {}

  /** The health check. */
  record Ping() implements Request {}

  /** A blob of one upstream's repository, served from this replica's store or download. */
  record Blob(PullThrough upstream, RepositoryName repository, Digest digest) implements Request {}

  /** What a tag this replica owns names now, for a client of the asking replica's that accepts. */
  record TagQuestion(PullThrough upstream, RepositoryName repository, Tag tag, List<String> accept)
      implements Request {}

  private static final String V2 = Cluster.PATH + "v2";

  /** As many media types as a client's Accept list may bring ({@code AcceptHeader}). */
  private static final int MAX_ACCEPT = 32;

  private final Cluster cluster;
  private final Function<String, PullThrough> upstreams;
  private final BooleanSupplier warming;

  /**
   * @param upstreams each configured upstream's pull-through by name; null for an unknown name
   * @param warming true while the start's warm-up runs: the ping then answers 503, so the other
   *     replicas hand this one no digest or tag to own before its hot paths are compiled
   */
  public PeerPath(
      Cluster cluster, Function<String, PullThrough> upstreams, BooleanSupplier warming) {
    this.cluster = cluster;
    this.upstreams = upstreams;
    this.warming = warming;
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
      if (warming.getAsBoolean()) {
        throw new RegistryException(OciErrorCode.UNAVAILABLE, 503, "warming up");
      }
      return new Ping();
    }
    if (!uri.startsWith(V2 + "/")) {
      throw unknown();
    }
    int q = uri.indexOf('?');
    // /v2/<upstream>/<repo>/blobs/<digest> or /v2/<upstream>/<repo>/manifests/<tag>
    String path = uri.substring(Cluster.PATH.length() - 1, q < 0 ? uri.length() : q);
    String blob = V2Router.nameBefore(path, V2Router.BLOBS);
    String tagged = blob == null ? V2Router.nameBefore(path, V2Router.MANIFESTS) : null;
    String name = blob != null ? blob : tagged;
    int slash = name == null ? -1 : name.indexOf('/');
    PullThrough upstream =
        name != null && slash > 0 ? upstreams.apply(name.substring(0, slash)) : null;
    String last = path.substring(path.lastIndexOf('/') + 1);
    if (name == null || upstream == null || (blob != null && q >= 0)) {
      throw unknown();
    }
    RepositoryName repo = new RepositoryName(name.substring(slash + 1));
    if (blob != null) {
      return new Blob(upstream, repo, Digest.parse(last));
    }
    if (!Tag.isValid(last)) { // a manifest by digest is no question for a tag's owner
      throw unknown();
    }
    return new TagQuestion(upstream, repo, new Tag(last), accept(q < 0 ? "" : uri.substring(q)));
  }

  /** The Accept list of a tag question's query: only {@code accept}, once; nothing is none. */
  private static List<String> accept(String query) {
    Map<String, List<String>> params;
    try {
      params = new QueryStringDecoder(query).parameters();
    } catch (IllegalArgumentException e) { // bad percent-encoding
      throw unknown();
    }
    List<String> values = params.get(Cluster.ACCEPT);
    if (params.isEmpty()) {
      return List.of();
    }
    if (params.size() != 1 || values == null || values.size() != 1) {
      throw unknown();
    }
    List<String> types = new ArrayList<>();
    for (String t : values.get(0).split(",", -1)) {
      if (!t.isEmpty() && types.size() < MAX_ACCEPT) {
        types.add(t);
      }
    }
    return List.copyOf(types);
  }

  /** The owner's answer to a {@link TagQuestion}: the {@link PeerTag} as JSON. */
  static FullHttpResponse answer(PeerTag tag) {
    byte[] body = tag.encode();
    FullHttpResponse r =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1, HttpResponseStatus.OK, Unpooled.wrappedBuffer(body));
    r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
    r.headers().set(HttpHeaderNames.CONTENT_LENGTH, body.length);
    return r;
  }

  private static RegistryException unknown() {
    return new RegistryException(OciErrorCode.NAME_UNKNOWN, 404, "unknown peer path");
  }
}
