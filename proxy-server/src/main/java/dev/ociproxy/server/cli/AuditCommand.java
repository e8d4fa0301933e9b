package dev.ociproxy.server.cli;

import dev.ociproxy.core.airgap.DriftLog;
import dev.ociproxy.core.airgap.Pins;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.core.policy.SignaturePolicy;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code audit}: for every pin, asks the upstream where the tag points now and prints pinned tag,
 * pinned digest and the upstream's digest; with a signature policy, re-verifies every cached image
 * under a signature rule ({@link SignatureAudit}). Exit code 1 when a tag drifted or could not be
 * checked (offline upstreams are reported, not counted), or a cached image fails the policy.
 */
final class AuditCommand {
  static final String USAGE =
      """
      usage: java -jar registry-proxy.jar audit --config FILE
        For every pin: the pinned tag, the pinned digest, and where the upstream's tag points now.
        With a signaturePolicy: every cached image under a signature rule, re-verified from the
        cache alone against the policy as configured now.
        Exit code 1 when any tag drifted from its pin or could not be checked, or when a cached
        image no longer satisfies the signature policy.""";
  private static final long TIMEOUT_SECONDS = 120;

  private AuditCommand() {}

  static int run(List<String> argv, PrintStream out) throws UsageException {
    CliArgs a = CliArgs.parse(argv, Set.of("--config"), Set.of());
    if (!a.positional().isEmpty()) {
      throw new UsageException(
          "audit takes no arguments (it checks every pin and every cached signed image)");
    }
    try (CliContext ctx = CliContext.load(a.value("--config"))) {
      boolean hasPins = ctx.config().airgap().pinsFile() != null;
      SignaturePolicy policy = ctx.config().signatures();
      if (!hasPins && policy == null) {
        throw new UsageException(
            "nothing to audit: no pin file (pins: FILE) and no signaturePolicy configured");
      }
      int failures = hasPins ? pins(ctx, out) : 0;
      if (policy != null) {
        failures += SignatureAudit.run(ctx, policy, out);
      }
      return failures == 0 ? 0 : 1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 1;
    }
  }

  /** The pin half; returns how many pins drifted or could not be checked. */
  private static int pins(CliContext ctx, PrintStream out)
      throws UsageException, InterruptedException {
    Pins pins = ctx.pins();
    int drifted = 0;
    int failed = 0;
    for (Map.Entry<Pins.Key, Digest> pin : pins.all().entrySet()) {
      Pins.Key k = pin.getKey();
      String head = k + " -> pinned " + pin.getValue() + " -> upstream ";
      if (ctx.config().airgap().isOffline(k.upstream())) {
        out.println("OFFLINE " + head + "(not checked: upstream " + k.upstream() + " is offline)");
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
      }
    }
    out.println(
        "audit: " + pins.size() + " pin(s), " + drifted + " drifted, " + failed + " not checked");
    return drifted + failed;
  }
}
