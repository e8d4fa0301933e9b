package dev.ociproxy.server.logging;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.slf4j.event.KeyValuePair;

/** JSON log lines: one object per line, key-value pairs as fields, hostile text escaped. */
class JsonLayoutTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static String layout(LoggingEvent e) {
    JsonLayout layout = new JsonLayout();
    layout.setContext(new LoggerContext());
    layout.start();
    return layout.doLayout(e);
  }

  private static LoggingEvent event(String message, Throwable t) {
    LoggerContext ctx = new LoggerContext();
    return new LoggingEvent("test", ctx.getLogger("access"), Level.INFO, message, t, null);
  }

  @Test
  void accessEvent_becomesOneJsonObjectWithItsPairsAsFields() throws Exception {
    LoggingEvent e = event("GET /v2/x 200", null);
    e.addKeyValuePair(new KeyValuePair("path", "/v2/evil\n{\"status\":500}\"/blobs"));
    e.addKeyValuePair(new KeyValuePair("status", 200));
    e.addKeyValuePair(new KeyValuePair("aborted", false));
    e.addKeyValuePair(new KeyValuePair("level", "spoofed"));
    String line = layout(e);
    assertThat(line).endsWith("\n");
    assertThat(line.strip()).doesNotContain("\n");
    JsonNode n = JSON.readTree(line);
    assertThat(n.path("logger").asText()).isEqualTo("access");
    assertThat(n.path("level").asText())
        .as("a pair cannot overwrite the layout's own fields")
        .isEqualTo("INFO");
    assertThat(n.path("kv_level").asText()).isEqualTo("spoofed");
    assertThat(n.path("message").asText()).isEqualTo("GET /v2/x 200");
    assertThat(n.path("path").asText()).isEqualTo("/v2/evil\n{\"status\":500}\"/blobs");
    assertThat(n.path("status").isNumber()).isTrue();
    assertThat(n.path("status").asInt()).isEqualTo(200);
    assertThat(n.path("aborted").isBoolean()).isTrue();
    assertThat(n.path("time").asText()).matches("\\d{4}-\\d\\d-\\d\\dT.*Z");
  }

  @Test
  void throwable_isWrittenAsErrorAndStack() throws Exception {
    JsonNode n = JSON.readTree(layout(event("failed", new IllegalStateException("boom"))));
    assertThat(n.path("error").asText()).isEqualTo("java.lang.IllegalStateException: boom");
    assertThat(n.path("stack").asText()).contains("JsonLayoutTest");
  }
}
