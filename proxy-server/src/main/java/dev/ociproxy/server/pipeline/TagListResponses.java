package dev.ociproxy.server.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.Tag;
import dev.ociproxy.core.registry.TagList;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Renders a tag list page in the client's view: the repository name and the {@code Link} to the
 * next page carry the name the client used (with its upstream prefix), not the upstream's.
 */
final class TagListResponses {
  private static final ObjectMapper JSON = new ObjectMapper();

  private TagListResponses() {}

  static FullHttpResponse of(
      ByteBufAllocator alloc, TagList list, V2Request.ListTags req, boolean head) {
    byte[] body;
    try {
      JsonNode root = JSON.readTree(list.json());
      if (!(root instanceof ObjectNode obj)
          || (!root.path("tags").isArray() && !root.path("tags").isNull())) {
        throw new RegistryException(
            OciErrorCode.UNAVAILABLE, 502, "upstream sent a malformed tag list");
      }
      obj.put("name", req.clientName());
      body = JSON.writeValueAsBytes(obj);
    } catch (IOException e) {
      throw new RegistryException(
          OciErrorCode.UNAVAILABLE, 502, "upstream sent a malformed tag list");
    }
    FullHttpResponse r =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1,
            HttpResponseStatus.OK,
            head ? Unpooled.EMPTY_BUFFER : alloc.buffer(body.length).writeBytes(body));
    r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
    r.headers().set(HttpHeaderNames.CONTENT_LENGTH, body.length);
    r.headers().set("Docker-Distribution-API-Version", "registry/2.0");
    String link = rewriteLink(list.nextLink(), req);
    if (link != null) {
      r.headers().set("Link", link);
    }
    return r;
  }

  /**
   * {@code </v2/<client's name>/tags/list?n=…&last=…>; rel="next"}, built from the upstream's
   * {@code n} and {@code last} only, once validated ({@code last} a tag, {@code n} a number):
   * nothing else of the upstream's link reaches the client, so it cannot send the next page
   * elsewhere (an {@code ns} naming another upstream, another host or path). A link we cannot read
   * is dropped.
   */
  static @Nullable String rewriteLink(@Nullable String link, V2Request.ListTags req) {
    if (link == null) {
      return null;
    }
    int end = link.indexOf('>');
    if (!link.startsWith("<") || end < 0) {
      return null; // not something we can safely pass on
    }
    String target = link.substring(1, end);
    int q = target.indexOf('?');
    Map<String, List<String>> params =
        new QueryStringDecoder(q < 0 ? "" : target.substring(q)).parameters();
    List<String> n = params.getOrDefault("n", List.of());
    List<String> last = params.getOrDefault("last", List.of());
    if (n.size() > 1
        || last.size() > 1
        || (!n.isEmpty() && !n.get(0).matches("[0-9]{1,6}"))
        || (!last.isEmpty() && !Tag.isValid(last.get(0)))) {
      return null;
    }
    StringBuilder query = new StringBuilder();
    n.forEach(v -> query.append("?n=").append(v));
    last.forEach(v -> query.append(query.length() == 0 ? "?" : "&").append("last=").append(v));
    return "</v2/" + req.clientName() + "/tags/list" + query + ">; rel=\"next\"";
  }
}
