package dev.ociproxy.it.support;

import static java.util.Objects.requireNonNull;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;
import org.awaitility.core.TerminalFailureException;

/**
 * A long-running external process (registry, proxy, daemon) that is always stopped by pid.
 *
 * <p>Output (stdout and stderr) is appended to a log file that outlives the process, so a failing
 * test can print it. Every started process is tracked: {@link ProcessGuard} stops those a test
 * leaves behind and a JVM shutdown hook kills whatever is still alive as a last resort. Stopping
 * also reaches the process's descendants (dockerd starts its own containerd), which would otherwise
 * be orphaned.
 */
public final class ManagedProcess implements AutoCloseable {

  /** How long a process gets to exit after SIGTERM before it is killed. */
  public static final Duration DEFAULT_GRACE = Duration.ofSeconds(20);

  private static final Set<ManagedProcess> LIVE = ConcurrentHashMap.newKeySet();
  private static final List<ManagedProcess> STARTED = new CopyOnWriteArrayList<>();
  private static final AtomicLong SEQUENCE = new AtomicLong();

  static {
    Runtime.getRuntime()
        .addShutdownHook(new Thread(ManagedProcess::killAllLive, "harness-process-reaper"));
  }

  private final String name;
  private final List<String> command;
  private final Process process;
  private final Path logFile;
  private final long sequence;

  private ManagedProcess(
      String name, List<String> command, Process process, Path logFile, long sequence) {
    this.name = name;
    this.command = command;
    this.process = process;
    this.logFile = logFile;
    this.sequence = sequence;
  }

  /**
   * Starts {@code command} with {@code env} added to this JVM's environment (a {@code null} value
   * removes a variable), appending its output to {@code logFile}.
   */
  public static ManagedProcess start(
      String name, List<String> command, Map<String, String> env, Path logFile) {
    requireNonNull(name, "name");
    requireNonNull(command, "command");
    requireNonNull(env, "env");
    requireNonNull(logFile, "logFile");
    try {
      Files.createDirectories(logFile.toAbsolutePath().getParent());
      Files.writeString(
          logFile,
          "### " + name + ": " + String.join(" ", command) + "\n",
          java.nio.file.StandardOpenOption.CREATE,
          java.nio.file.StandardOpenOption.APPEND);
      ProcessBuilder pb =
          new ProcessBuilder(command)
              .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
      Commands.applyEnv(pb, env);
      Process process = pb.start();
      ManagedProcess managed =
          new ManagedProcess(
              name, List.copyOf(command), process, logFile, SEQUENCE.incrementAndGet());
      LIVE.add(managed);
      STARTED.add(managed);
      return managed;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + name + ": " + String.join(" ", command), e);
    }
  }

  public String name() {
    return name;
  }

  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  public Path logFile() {
    return logFile;
  }

  public List<String> command() {
    return command;
  }

  /** Returns the last {@code maxChars} characters of the log. */
  public String logTail(int maxChars) {
    return Commands.tail(Commands.read(logFile), maxChars);
  }

  /**
   * Polls {@code check} every {@code interval} until it returns a command that succeeded (null: not
   * yet worth running, e.g. no socket yet); fails at once when this process exits, and with the
   * last command's output after {@code timeout}.
   */
  public void awaitReady(
      String what, Duration timeout, Duration interval, Supplier<CommandResult> check) {
    AtomicReference<CommandResult> last = new AtomicReference<>();
    try {
      Awaitility.await(what)
          .atMost(timeout)
          .pollDelay(Duration.ZERO)
          .pollInterval(interval)
          .failFast(() -> !isAlive())
          .until(
              () -> {
                CommandResult r = check.get();
                last.set(r);
                return r != null && r.succeeded();
              });
    } catch (TerminalFailureException e) {
      throw new IllegalStateException(name + " exited during startup\n" + describe(), e);
    } catch (ConditionTimeoutException e) {
      CommandResult r = last.get();
      throw new IllegalStateException(
          what
              + ": not ready after "
              + timeout
              + (r == null ? "" : "\n" + r.describe())
              + "\n"
              + describe(),
          e);
    }
  }

  /** Returns a block for failure messages: name, pid, liveness, command and the log's tail. */
  public String describe() {
    return "=== "
        + name
        + " (pid "
        + pid()
        + (isAlive() ? ", alive" : ", exited " + process.exitValue())
        + ") log "
        + logFile
        + "\n"
        + logTail(12_000);
  }

  /**
   * Sends SIGTERM, waits up to {@code grace}, then SIGKILL; then does the same to leftover
   * descendants.
   */
  public void stop(Duration grace) {
    List<ProcessHandle> descendants = process.descendants().toList();
    if (process.isAlive()) {
      process.destroy();
      if (!waitFor(process.toHandle(), grace)) {
        process.destroyForcibly();
        waitFor(process.toHandle(), Duration.ofSeconds(10));
      }
    }
    for (ProcessHandle child : descendants) {
      if (child.isAlive()) {
        child.destroy();
      }
    }
    for (ProcessHandle child : descendants) {
      if (!waitFor(child, Duration.ofSeconds(5))) {
        child.destroyForcibly();
        waitFor(child, Duration.ofSeconds(5));
      }
    }
    LIVE.remove(this);
  }

  public void stop() {
    stop(DEFAULT_GRACE);
  }

  /** Sends SIGTERM and returns at once (for tests of the process's own graceful shutdown). */
  public void sigterm() {
    process.destroy();
  }

  /**
   * Waits up to {@code timeout} for the process to exit; its exit code, or empty if still running.
   */
  public java.util.OptionalInt awaitExit(Duration timeout) {
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        return java.util.OptionalInt.empty();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return java.util.OptionalInt.empty();
    }
    LIVE.remove(this);
    return java.util.OptionalInt.of(process.exitValue());
  }

  /**
   * Kills the process and its descendants with SIGKILL, as a crash would, and waits for them to
   * exit.
   */
  public void kill9() {
    killTree(process.toHandle());
    LIVE.remove(this);
  }

  @Override
  public void close() {
    stop();
  }

  /** Kills {@code root} and all its descendants with SIGKILL and waits (bounded) for them to go. */
  static void killTree(ProcessHandle root) {
    List<ProcessHandle> all = new ArrayList<>(root.descendants().toList());
    all.add(0, root);
    all.forEach(ProcessHandle::destroyForcibly);
    all.forEach(h -> waitFor(h, Duration.ofSeconds(10)));
  }

  private static boolean waitFor(ProcessHandle handle, Duration timeout) {
    if (!handle.isAlive()) {
      return true;
    }
    try {
      handle.onExit().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return !handle.isAlive();
    } catch (Exception e) {
      return !handle.isAlive();
    }
  }

  static long currentSequence() {
    return SEQUENCE.get();
  }

  /** Processes started after sequence number {@code after}, alive or not, oldest first. */
  static List<ManagedProcess> startedAfter(long after) {
    return STARTED.stream().filter(p -> p.sequence > after).toList();
  }

  static boolean isLive(ManagedProcess p) {
    return LIVE.contains(p);
  }

  private static void killAllLive() {
    for (ProcessHandle command : List.copyOf(Commands.RUNNING)) {
      killTree(command);
    }
    for (ManagedProcess p : List.copyOf(LIVE)) {
      try {
        p.kill9();
      } catch (RuntimeException ignored) {
        // best effort during JVM shutdown
      }
    }
  }
}
