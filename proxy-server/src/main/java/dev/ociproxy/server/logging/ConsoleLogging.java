package dev.ociproxy.server.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.spi.ContextAwareBase;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;

/**
 * logback's start-up configuration, in code: text lines on stderr at {@code $LOG_LEVEL} (default
 * INFO), Netty at WARN. Found by logback through {@code META-INF/services}; it replaces a {@code
 * logback.xml} because reading one costs the start some 0.1–0.2 s of XML parsing before the first
 * answer. An operator's own file ({@code -Dlogback.configurationFile=…}) still wins.
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_NORMAL_PRIORITY)
public final class ConsoleLogging extends ContextAwareBase implements Configurator {
  private static final String PATTERN = "%d{HH:mm:ss.SSS} %-5level %logger{0} - %msg%n";

  @Override
  public ExecutionStatus configure(LoggerContext ctx) {
    return configure(
        ctx, System.getenv("LOG_LEVEL"), System.getProperty("logback.configurationFile") != null);
  }

  /**
   * @param level the root level's name; null or unknown is INFO
   * @param operatorFile true leaves the context to logback's own configurators
   */
  static ExecutionStatus configure(
      LoggerContext ctx, @Nullable String level, boolean operatorFile) {
    if (operatorFile) {
      return ExecutionStatus.INVOKE_NEXT_IF_ANY;
    }
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(ctx);
    encoder.setPattern(PATTERN);
    encoder.start();
    ConsoleAppender<ILoggingEvent> stderr = new ConsoleAppender<>();
    stderr.setContext(ctx);
    stderr.setName("STDERR");
    stderr.setTarget("System.err");
    stderr.setEncoder(encoder);
    stderr.start();
    ctx.getLogger("io.netty").setLevel(Level.WARN);
    ch.qos.logback.classic.Logger root = ctx.getLogger(Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.toLevel(level, Level.INFO));
    root.addAppender(stderr);
    return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
  }
}
