package dev.ociproxy.server.pipeline;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ociproxy.core.oci.OciErrorCode;
import dev.ociproxy.core.oci.RegistryException;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/** The single place that renders the spec's JSON error body. */
final class ErrorResponses {
  private static final ObjectMapper JSON = new ObjectMapper();

  private ErrorResponses() {}

  /**
   * The answer to a failed request: a {@link RegistryException} with its own status and code, an
   * unsatisfiable range as 416, anything else as a 500 that says no more than "internal error".
   */
  static FullHttpResponse of(ByteBufAllocator alloc, Throwable err, boolean head) {
    if (err instanceof RegistryException e) {
      return of(alloc, e.status(), e.code(), e.getMessage(), head);
    } else if (err instanceof ByteRange.Unsatisfiable) {
      return of(alloc, 416, OciErrorCode.RANGE_INVALID, "range not satisfiable", head);
    }
    return of(alloc, 500, OciErrorCode.UNAVAILABLE, "internal error", head);
  }

  /** {@code {"errors":[{"code":…,"message":…,"detail":null}]}}, without a body for HEAD. */
  static FullHttpResponse of(
      ByteBufAllocator alloc,
      int status,
      OciErrorCode code,
      @Nullable String message,
      boolean head) {
    ObjectNode root = JSON.createObjectNode();
    ArrayNode errors = root.putArray("errors");
    ObjectNode e = errors.addObject();
    e.put("code", code.name());
    e.put("message", message == null ? code.name().toLowerCase(Locale.ROOT) : message);
    e.putNull("detail");
    byte[] body;
    try {
      body = JSON.writeValueAsBytes(root);
    } catch (JsonProcessingException ex) {
      throw new IllegalStateException(ex);
    }
    FullHttpResponse r =
        new DefaultFullHttpResponse(
            HttpVersion.HTTP_1_1,
            HttpResponseStatus.valueOf(status),
            head ? Unpooled.EMPTY_BUFFER : alloc.buffer(body.length).writeBytes(body));
    r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
    r.headers().set(HttpHeaderNames.CONTENT_LENGTH, body.length);
    r.headers().set("Docker-Distribution-API-Version", "registry/2.0");
    return r;
  }
}
