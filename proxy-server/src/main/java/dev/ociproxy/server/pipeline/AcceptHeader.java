package dev.ociproxy.server.pipeline;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/** The media types a request's {@code Accept} headers list, without parameters, at most 32. */
final class AcceptHeader {
  /** Parsed Accept headers: clients send the same few values on every request. */
  private static final ConcurrentMap<String, List<String>> PARSED = new ConcurrentHashMap<>();

  private static final int MAX_PARSED = 256;

  private AcceptHeader() {}

  static List<String> mediaTypes(HttpRequest req) {
    List<String> all = req.headers().getAll(HttpHeaderNames.ACCEPT);
    if (all.size() != 1 || all.get(0).length() > 1024) {
      return parse(all);
    }
    String h = all.get(0);
    List<String> known = PARSED.get(h);
    if (known == null) {
      known = List.copyOf(parse(all));
      if (PARSED.size() < MAX_PARSED) { // bounded: a client cannot grow it at will
        PARSED.putIfAbsent(h, known);
      }
    }
    return known;
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
