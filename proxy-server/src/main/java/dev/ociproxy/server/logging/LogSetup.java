package dev.ociproxy.server.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.turbo.TurboFilter;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import ch.qos.logback.core.spi.FilterReply;
import dev.ociproxy.server.config.ProxyConfig;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import org.jspecify.annotations.Nullable;
import org.slf4j.ILoggerFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.Marker;

/**
 * Applies the {@code log:} configuration to logback after the config file has been read: the root
 * level, and JSON lines instead of {@link ConsoleLogging}'s text pattern on every console or file
 * appender. Done in code rather than with two logback files so one jar serves both formats.
 */
public final class LogSetup {
  private LogSetup() {}

  /**
   * Drops log events below WARN from threads whose name starts with {@code threadPrefix}, but for
   * those of logger {@code keep}: the start's warm-up runs a throwaway server whose access log and
   * start lines would only mislead; its own summary line stays.
   */
  public static void quietBelowWarn(String threadPrefix, String keep) {
    if (LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx) {
      ctx.addTurboFilter(
          new TurboFilter() {
            @Override
            public FilterReply decide(
                @Nullable Marker marker,
                ch.qos.logback.classic.Logger logger,
                @Nullable Level level,
                @Nullable String format,
                Object @Nullable [] params,
                @Nullable Throwable t) {
              return level != null
                      && !level.isGreaterOrEqual(Level.WARN)
                      && Thread.currentThread().getName().startsWith(threadPrefix)
                      && !logger.getName().equals(keep)
                  ? FilterReply.DENY
                  : FilterReply.NEUTRAL;
            }
          });
    }
  }

  /** {@code level} null keeps logback's own ($LOG_LEVEL or INFO). */
  public static void apply(ProxyConfig.LogFormat format, @Nullable String level) {
    ILoggerFactory factory = LoggerFactory.getILoggerFactory();
    if (!(factory instanceof LoggerContext ctx)) {
      return; // another SLF4J backend (tests, embedding): leave it alone
    }
    ch.qos.logback.classic.Logger root = ctx.getLogger(Logger.ROOT_LOGGER_NAME);
    if (level != null) {
      root.setLevel(Level.toLevel(level, Level.INFO));
    }
    if (format != ProxyConfig.LogFormat.JSON) {
      return;
    }
    for (Iterator<Appender<ILoggingEvent>> it = root.iteratorForAppenders(); it.hasNext(); ) {
      if (it.next() instanceof OutputStreamAppender<ILoggingEvent> out) {
        JsonLayout layout = new JsonLayout();
        layout.setContext(ctx);
        layout.start();
        LayoutWrappingEncoder<ILoggingEvent> encoder = new LayoutWrappingEncoder<>();
        encoder.setContext(ctx);
        encoder.setLayout(layout);
        encoder.setCharset(StandardCharsets.UTF_8);
        encoder.start();
        out.stop();
        out.setEncoder(encoder);
        out.start();
      }
    }
  }
}
