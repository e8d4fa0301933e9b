package dev.ociproxy.server.logging;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.Configurator.ExecutionStatus;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import java.nio.charset.StandardCharsets;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;

class ConsoleLoggingTest {

  @Test
  void writesOneTextLinePerEventToStderrWithNettyAtWarn() {
    LoggerContext ctx = new LoggerContext();
    assertThat(ConsoleLogging.configure(ctx, "DEBUG", false))
        .isEqualTo(ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY);

    ch.qos.logback.classic.Logger root = ctx.getLogger(Logger.ROOT_LOGGER_NAME);
    assertThat(root.getLevel()).isEqualTo(Level.DEBUG);
    assertThat(ctx.getLogger("io.netty.channel").getEffectiveLevel()).isEqualTo(Level.WARN);
    ConsoleAppender<ILoggingEvent> stderr =
        (ConsoleAppender<ILoggingEvent>) root.getAppender("STDERR");
    assertThat(stderr.isStarted()).isTrue();
    assertThat(stderr.getTarget()).isEqualTo("System.err");
    LoggingEvent e =
        new LoggingEvent(
            "test",
            ctx.getLogger("dev.ociproxy.X"),
            Level.INFO,
            "listening on {}",
            null,
            new Object[] {5000});
    assertThat(new String(stderr.getEncoder().encode(e), StandardCharsets.UTF_8))
        .matches("\\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO  X - listening on 5000\\R");
  }

  @Test
  void noLevelOrAnUnknownOneIsInfo() {
    LoggerContext unset = new LoggerContext();
    ConsoleLogging.configure(unset, null, false);
    LoggerContext typo = new LoggerContext();
    ConsoleLogging.configure(typo, "LOUD", false);

    assertThat(unset.getLogger(Logger.ROOT_LOGGER_NAME).getLevel()).isEqualTo(Level.INFO);
    assertThat(typo.getLogger(Logger.ROOT_LOGGER_NAME).getLevel()).isEqualTo(Level.INFO);
  }

  @Test
  void anOperatorsOwnLogbackFileIsLeftToLogback() {
    LoggerContext ctx = new LoggerContext();

    assertThat(ConsoleLogging.configure(ctx, "DEBUG", true))
        .isEqualTo(ExecutionStatus.INVOKE_NEXT_IF_ANY);
    assertThat(ctx.getLogger(Logger.ROOT_LOGGER_NAME).iteratorForAppenders()).isExhausted();
  }

  @Test
  void logbackFindsItInTheJarsServiceFile() {
    assertThat(ServiceLoader.load(Configurator.class))
        .anySatisfy(c -> assertThat(c).isInstanceOf(ConsoleLogging.class));
  }
}
