package dev.ociproxy.server.pipeline;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import java.util.ArrayList;
import java.util.List;

/** The media types a request's {@code Accept} headers list, without parameters, at most 32. */
final class AcceptHeader {
  /**
   * Parsed Accept headers: clients send the same few values on every request. Bounded, since the
   * values are the clients' to choose.
   */
  private static final Cache<String, List<String>> PARSED =
      Caffeine.newBuilder()
          .maximumSize(256)
          .executor(Runnable::run) // maintenance inline: no common-pool wake-ups per request
          .build();

  private AcceptHeader() {}

  static List<String> mediaTypes(HttpRequest req) {
    List<String> all = req.headers().getAll(HttpHeaderNames.ACCEPT);
    if (all.size() != 1 || all.get(0).length() > 1024) {
      return parse(all);
    }
    return PARSED.get(all.get(0), h -> List.copyOf(parse(List.of(h))));
  }

  private static List<String> parse(List<String> headers) {
    List<String> out = new ArrayList<>();
    for (String h : headers) {
      for (String part : h.split(",", -1)) { // empty parts are skipped below
        int semi = part.indexOf(';');
        String t = (semi < 0 ? part : part.substring(0, semi)).trim();
        if (!t.isEmpty() && out.size() < 32) {
          out.add(t);
        }
      }
    }
    return out;
  }
}
