package dev.ociproxy.server.cli;

import dev.ociproxy.core.airgap.AirgapOptions;
import dev.ociproxy.core.airgap.Attached;
import dev.ociproxy.core.airgap.ImageRef;
import dev.ociproxy.core.airgap.Pins;
import dev.ociproxy.core.airgap.Platform;
import dev.ociproxy.core.airgap.WarmProgress;
import dev.ociproxy.core.airgap.WarmReport;
import dev.ociproxy.core.airgap.Warmer;
import dev.ociproxy.core.oci.Digest;
import dev.ociproxy.server.config.PinFileFormat;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code warm [--platform P]... [--referrers [--artifact-type T]...] [--concurrency N]
 * [--write-pins FILE] [REF...]}: fetches what pulls of REF need into the cache through the proxy's
 * own mirrors, and what is attached to it when asked, printing progress lines and a report. Without
 * REF it warms the configuration's {@code warm:} list.
 */
final class WarmCommand {
  static final String USAGE =
      """
      usage: java -jar registry-proxy.jar warm --config FILE [--platform os/arch[/variant]]...
                 [--referrers [--artifact-type TYPE]...] [--signatures]
                 [--concurrency N] [--write-pins PINFILE] [REF...]
        REF: upstream/repo:tag, upstream/repo@sha256:..., or repo:tag for the default upstream.
        Without REF the config's warm: list is warmed. --referrers also warms the verified
        referrers (signatures, SBOMs, attestations) of every manifest warmed, with their blobs:
        all of them, or only those of each --artifact-type. --signatures also warms the cosign
        signatures of every manifest warmed (its sha256-<hex>.sig tag and its sigstore bundle
        referrers), so a site with a signature policy can serve it after an import.
        --write-pins records each warmed tag's digest in PINFILE (merged with what is there).""";
  private static final long PROGRESS_EVERY_MILLIS = 2_000;

  private WarmCommand() {}

  static int run(List<String> argv, PrintStream out) throws UsageException {
    CliArgs a =
        CliArgs.parse(
            argv,
            Set.of("--config", "--platform", "--concurrency", "--write-pins", "--artifact-type"),
            Set.of("--referrers", "--signatures"));
    int concurrency = Warmer.DEFAULT_CONCURRENCY;
    if (a.value("--concurrency") != null) {
      try {
        concurrency = Integer.parseInt(a.value("--concurrency"));
      } catch (NumberFormatException e) {
        concurrency = 0;
      }
      if (concurrency < 1 || concurrency > 64) {
        throw new UsageException("--concurrency " + a.value("--concurrency") + " (expected 1-64)");
      }
    }
    Set<Platform> platforms = CliContext.platforms(a.values("--platform"));
    if (!a.values("--artifact-type").isEmpty() && !a.flag("--referrers")) {
      throw new UsageException("--artifact-type filters the referrers: give --referrers too");
    }
    boolean attaching = a.flag("--referrers") || a.flag("--signatures");
    Attached attached =
        new Attached(
            a.flag("--referrers"), Set.copyOf(a.values("--artifact-type")), a.flag("--signatures"));
    try (CliContext ctx = CliContext.load(a.value("--config"))) {
      List<AirgapOptions.WarmEntry> entries = new ArrayList<>();
      if (a.positional().isEmpty()) {
        entries.addAll(ctx.config().airgap().warm());
        if (entries.isEmpty()) {
          throw new UsageException(
              "nothing to warm: give image references, or a warm: list in the config");
        }
      } else {
        for (ImageRef r : ctx.refs(a.positional())) {
          entries.add(new AirgapOptions.WarmEntry(r, platforms, attached));
        }
      }
      Warmer warmer = new Warmer(ctx.registries()::get, concurrency);
      AtomicLong lastLine = new AtomicLong();
      WarmProgress progress =
          new WarmProgress(
              s -> {
                long now = System.currentTimeMillis();
                long before = lastLine.get();
                if (now - before >= 500 && lastLine.compareAndSet(before, now)) {
                  out.println("progress: " + s.line());
                }
              });
      ScheduledExecutorService ticker =
          Executors.newSingleThreadScheduledExecutor(
              new DefaultThreadFactory("warm-progress", true));
      ticker.scheduleAtFixedRate(
          () -> {
            if (System.currentTimeMillis() - lastLine.get() >= PROGRESS_EVERY_MILLIS) {
              lastLine.set(System.currentTimeMillis());
              out.println("progress: " + progress.snapshot().line());
            }
          },
          PROGRESS_EVERY_MILLIS,
          PROGRESS_EVERY_MILLIS,
          TimeUnit.MILLISECONDS);
      List<WarmReport.Item> items = new ArrayList<>();
      try {
        out.println("warm: " + entries.size() + " reference(s) into " + ctx.store().root());
        for (AirgapOptions.WarmEntry e : entries) {
          Set<Platform> ps = platforms.isEmpty() ? e.platforms() : platforms;
          Attached with = attaching ? attached : e.attached();
          items.addAll(warmer.warm(List.of(e.ref()), ps, with, progress).join().items());
        }
      } finally {
        ticker.shutdownNow();
      }
      out.println("progress: " + progress.snapshot().line());
      WarmReport report = new WarmReport(items);
      report.lines().forEach(out::println);
      if (a.value("--write-pins") != null) {
        writePins(Path.of(a.value("--write-pins")), report, out);
      }
      return report.ok() ? 0 : 1;
    }
  }

  private static void writePins(Path file, WarmReport report, PrintStream out)
      throws UsageException {
    Map<Pins.Key, Digest> pins = new LinkedHashMap<>();
    for (WarmReport.Item i : report.items()) {
      if (i.ok() && i.ref().tag() != null && i.digest() != null) {
        pins.put(new Pins.Key(i.ref().upstream(), i.ref().repository(), i.ref().tag()), i.digest());
      }
    }
    try {
      PinFileFormat.merge(file, pins);
    } catch (IOException e) {
      throw new UsageException("--write-pins " + file + ": " + e.getMessage());
    }
    out.println("pins: wrote " + pins.size() + " pin(s) to " + file);
  }
}
