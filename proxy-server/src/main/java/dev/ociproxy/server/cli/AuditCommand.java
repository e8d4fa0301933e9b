package dev.ociproxy.server.cli;

import dev.ociproxy.core.airgap.DriftLog;
import dev.ociproxy.core.airgap.Pins;
import dev.ociproxy.core.oci.Digest;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code audit}: for every pin, asks the upstream where the tag points now and prints pinned tag,
 * pinned digest and the upstream's digest. Exit code 1 when a tag drifted or could not be checked
 * (offline upstreams are reported, not counted).
 */
final class AuditCommand {
  static final String USAGE =
      """
      usage: java -jar registry-proxy.jar audit --config FILE
        For every pin: the pinned tag, the pinned digest, and where the upstream's tag points now.
        Exit code 1 when any tag drifted from its pin or could not be checked.""";
  private static final long TIMEOUT_SECONDS = 120;

  private AuditCommand() {}

  static int run(List<String> argv, PrintStream out) throws UsageException {
    CliArgs a = CliArgs.parse(argv, Set.of("--config"), Set.of());
    if (!a.positional().isEmpty()) {
      throw new UsageException("audit takes no arguments (it checks every pin of the pin file)");
    }
    try (CliContext ctx = CliContext.load(a.value("--config"))) {
      if (ctx.config().airgap().pinsFile() == null) {
        throw new UsageException("no pin file configured (pins: FILE)");
      }
      Pins pins = ctx.pins();
      int drifted = 0;
      int failed = 0;
      for (Map.Entry<Pins.Key, Digest> pin : pins.all().entrySet()) {
        Pins.Key k = pin.getKey();
        String head = k + " -> pinned " + pin.getValue() + " -> upstream ";
        if (ctx.config().airgap().isOffline(k.upstream())) {
          out.println(
              "OFFLINE " + head + "(not checked: upstream " + k.upstream() + " is offline)");
          continue;
        }
        try {
          Digest now =
              ctx.pullThrough(k.upstream())
                  .upstreamDigest(
                      k.repository(), k.tag(), DriftLog.acceptFor(ctx.store(), pin.getValue()))
                  .get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
          boolean same = now.equals(pin.getValue());
          if (!same) {
            drifted++;
          }
          out.println((same ? "OK      " : "DRIFT   ") + head + now);
        } catch (ExecutionException | TimeoutException e) {
          failed++;
          Throwable cause =
              e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
          out.println("ERROR   " + head + "(" + cause.getMessage() + ")");
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return 1;
        }
      }
      out.println(
          "audit: " + pins.size() + " pin(s), " + drifted + " drifted, " + failed + " not checked");
      return drifted == 0 && failed == 0 ? 0 : 1;
    }
  }
}
