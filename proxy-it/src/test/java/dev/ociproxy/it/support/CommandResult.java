package dev.ociproxy.it.support;

import java.time.Duration;
import java.util.List;

/**
 * The outcome of one short-lived command run by {@link Commands}: exit code and captured output.
 */
public record CommandResult(
    List<String> command, int exitCode, String stdout, String stderr, Duration took) {

  public boolean succeeded() {
    return exitCode == 0;
  }

  /**
   * Returns this result if the exit code is 0, else throws with the command line and both outputs.
   */
  public CommandResult orThrow() {
    if (!succeeded()) {
      throw new CommandFailedException(this);
    }
    return this;
  }

  /**
   * Returns a multi-line description (command, exit code, time, stdout, stderr) for failure
   * messages.
   */
  public String describe() {
    return "command: "
        + String.join(" ", command)
        + "\nexit code: "
        + exitCode
        + " after "
        + took.toMillis()
        + " ms"
        + "\n--- stdout ---\n"
        + Commands.tail(stdout, 8_000)
        + "\n--- stderr ---\n"
        + Commands.tail(stderr, 8_000);
  }

  /** Thrown by {@link #orThrow()}; the message carries the whole {@link #describe()} text. */
  public static final class CommandFailedException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final transient CommandResult result;

    CommandFailedException(CommandResult result) {
      super(result.describe());
      this.result = result;
    }

    public CommandResult result() {
      return result;
    }
  }
}
