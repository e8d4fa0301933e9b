package dev.ociproxy.server.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One client connection into the assembled client pipeline, without a socket: raw request bytes in,
 * every response the pipeline wrote back parsed out.
 */
final class EmbeddedClient {
  final EmbeddedChannel channel;

  EmbeddedClient(ProxyChannelInitializer pipeline) {
    channel =
        new EmbeddedChannel(
            new ChannelInitializer<Channel>() {
              @Override
              protected void initChannel(Channel ch) {
                pipeline.addHandlers(ch.pipeline());
              }
            });
  }

  /** Writes raw request bytes and parses every response the channel wrote back. */
  List<Response> exchange(String requests) {
    channel.writeInbound(Unpooled.copiedBuffer(requests, StandardCharsets.ISO_8859_1));
    channel.runPendingTasks();
    StringBuilder raw = new StringBuilder();
    for (Object o; (o = channel.readOutbound()) != null; ) {
      ByteBuf buf = (ByteBuf) o;
      try {
        raw.append(buf.toString(StandardCharsets.ISO_8859_1));
      } finally {
        buf.release();
      }
    }
    return Response.parseAll(raw.toString());
  }

  record Response(int status, Map<String, String> headers, String body) {
    String header(String name) {
      return headers.get(name.toLowerCase(Locale.ROOT));
    }

    /**
     * Splits a byte stream into responses. A body is present when the next bytes do not start
     * another response (a HEAD answer has a Content-Length but no body).
     */
    static List<Response> parseAll(String raw) {
      List<Response> out = new ArrayList<>();
      int i = 0;
      while (i < raw.length()) {
        int headEnd = raw.indexOf("\r\n\r\n", i);
        assertThat(headEnd).as("complete response head in %s", raw).isPositive();
        String[] lines = raw.substring(i, headEnd).split("\r\n");
        int status = Integer.parseInt(lines[0].split(" ")[1]);
        Map<String, String> headers = new LinkedHashMap<>();
        for (int l = 1; l < lines.length; l++) {
          int colon = lines[l].indexOf(':');
          headers.put(
              lines[l].substring(0, colon).trim().toLowerCase(Locale.ROOT),
              lines[l].substring(colon + 1).trim());
        }
        int bodyStart = headEnd + 4;
        boolean bodyless = bodyStart == raw.length() || raw.startsWith("HTTP/1.", bodyStart);
        int length = bodyless ? 0 : Integer.parseInt(headers.getOrDefault("content-length", "0"));
        assertThat(bodyStart + length)
            .as("complete body in %s", raw)
            .isLessThanOrEqualTo(raw.length());
        out.add(new Response(status, headers, raw.substring(bodyStart, bodyStart + length)));
        i = bodyStart + length;
      }
      return out;
    }
  }
}
