package dev.ociproxy.server.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.registry.TagList;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;

/**
 * Renders a tag list page in the client's view: the repository name and the {@code Link} to the
 * next page carry the name the client used (with its upstream prefix), not the upstream's.
 */
final class TagListResponses {
  private static final ObjectMapper JSON = new ObjectMapper();

  private TagListResponses() {}

  static FullHttpResponse of(ByteBufAllocator alloc, TagList list, V2Request.ListTags req, boolean head) {
    byte[] body;
    try {
      JsonNode root = JSON.readTree(list.json());
      if (!(root instanceof ObjectNode obj) || !root.path("tags").isArray() && !root.path("tags").isNull()) {
        throw new RegistryException(OciErrorCode.UNAVAILABLE, 502, "upstream sent a malformed tag list");
      }
      obj.put("name", req.clientName());
      body = JSON.writeValueAsBytes(obj);
    } catch (IOException e) {
      throw new RegistryException(OciErrorCode.UNAVAILABLE, 502, "upstream sent a malformed tag list");
    }
    FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
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

  /** {@code </v2/<repo>/tags/list?…>; rel="next"} with the client's repository name. */
  static String rewriteLink(String link, V2Request.ListTags req) {
    if (link == null) {
      return null;
    }
    int q = link.indexOf('?');
    int end = link.indexOf('>');
    if (!link.startsWith("<") || end < 0) {
      return null; // not something we can safely pass on
    }
    String query = q > 0 && q < end ? link.substring(q, end) : "";
    return "</v2/" + req.clientName() + "/tags/list" + query + ">" + link.substring(end + 1);
  }
}
