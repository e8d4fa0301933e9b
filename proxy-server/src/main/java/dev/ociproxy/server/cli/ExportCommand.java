package dev.ociproxy.server.cli;

import dev.ociproxy.core.airgap.ExportReport;
import dev.ociproxy.core.airgap.Exporter;
import dev.ociproxy.core.airgap.ImageRef;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * {@code export --output DIR|FILE.tar [--platform P]... REF...}: writes cached images as an OCI
 * image layout (or a tar of one), readable by {@code skopeo copy oci:DIR:NAME} and by {@code
 * import}. Never contacts an upstream.
 */
final class ExportCommand {
  static final String USAGE =
      """
      usage: java -jar registry-proxy.jar export --config FILE --output DIR|FILE.tar
                 [--platform os/arch[/variant]]... REF...
        Writes the cached images as an OCI image layout directory (or, for a name ending in .tar,
        an archive of one). Each image is named upstream/repo:tag in index.json, e.g.
          skopeo copy oci:DIR:registry.example.com/library/alpine:3.20 ...""";

  private ExportCommand() {}

  static int run(List<String> argv, PrintStream out) throws UsageException {
    CliArgs a = CliArgs.parse(argv, Set.of("--config", "--output", "--platform"), Set.of());
    if (a.value("--output") == null) {
      throw new UsageException("--output DIR|FILE.tar is required");
    }
    if (a.positional().isEmpty()) {
      throw new UsageException("give at least one image reference to export");
    }
    try (CliContext ctx = CliContext.load(a.value("--config"))) {
      List<ImageRef> refs = ctx.refs(a.positional());
      ExportReport report;
      try {
        report =
            new Exporter(ctx.store(), ctx.pins())
                .export(
                    refs,
                    CliContext.platforms(a.values("--platform")),
                    Path.of(a.value("--output")));
      } catch (IOException e) {
        out.println("export failed: " + e.getMessage());
        return 1;
      }
      report.lines().forEach(out::println);
      return report.ok() ? 0 : 1;
    }
  }
}
