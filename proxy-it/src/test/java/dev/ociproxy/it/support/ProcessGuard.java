package dev.ociproxy.it.support;

import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.opentest4j.TestAbortedException;

/**
 * JUnit 5 extension that prints the logs of the harness's processes when a test fails and stops by
 * pid every process a test (or the class) started and left running.
 *
 * <p>Use with {@code @ExtendWith(ProcessGuard.class)} on every IT class. Resources should still be
 * closed with try-with-resources or {@code @AfterAll}; this is the safety net for the failure
 * paths, and the JVM shutdown hook in {@link ManagedProcess} is the last resort behind it.
 */
public final class ProcessGuard
    implements BeforeAllCallback, BeforeEachCallback, AfterEachCallback, AfterAllCallback {

  private static final ExtensionContext.Namespace NS =
      ExtensionContext.Namespace.create(ProcessGuard.class);

  @Override
  public void beforeAll(ExtensionContext context) {
    context.getStore(NS).put("class", ManagedProcess.currentSequence());
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    context.getStore(NS).put("method", ManagedProcess.currentSequence());
  }

  @Override
  public void afterEach(ExtensionContext context) {
    Long classStart = context.getStore(NS).get("class", Long.class);
    Long methodStart = context.getStore(NS).get("method", Long.class);
    if (failed(context)) {
      printLogs(
          context.getDisplayName(),
          ManagedProcess.startedAfter(classStart == null ? 0 : classStart));
    }
    stopLeftovers(ManagedProcess.startedAfter(methodStart == null ? 0 : methodStart));
  }

  @Override
  public void afterAll(ExtensionContext context) {
    Long classStart = context.getStore(NS).get("class", Long.class);
    List<ManagedProcess> started = ManagedProcess.startedAfter(classStart == null ? 0 : classStart);
    if (failed(context)) {
      printLogs(context.getDisplayName(), started);
    }
    stopLeftovers(started);
  }

  /** Failed, not skipped: a failed assumption also arrives as an execution exception. */
  private static boolean failed(ExtensionContext context) {
    return context
        .getExecutionException()
        .filter(e -> !(e instanceof TestAbortedException))
        .isPresent();
  }

  private static void stopLeftovers(List<ManagedProcess> started) {
    for (ManagedProcess p : started) {
      if (ManagedProcess.isLive(p)) {
        System.err.println("[ProcessGuard] stopping leftover " + p.name() + " pid " + p.pid());
        p.stop();
      }
    }
  }

  private static void printLogs(String test, List<ManagedProcess> started) {
    if (started.isEmpty()) {
      return;
    }
    StringBuilder sb =
        new StringBuilder("[ProcessGuard] " + test + " failed; logs of the processes it used:\n");
    for (ManagedProcess p : started) {
      sb.append(p.describe()).append('\n');
    }
    System.err.println(sb);
  }
}
