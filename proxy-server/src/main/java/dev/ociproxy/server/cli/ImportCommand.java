package dev.ociproxy.server.cli;

import dev.ociproxy.core.airgap.ImportReport;
import dev.ociproxy.core.airgap.Importer;
import dev.ociproxy.core.oci.RegistryException;
import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.registry.MirrorOptions;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * {@code import [--upstream NAME] [--repository REPO] DIR|FILE.tar...}: verifies an OCI image
 * layout or archive entry by entry and puts what verified into the cache with its tags. Exit code 1
 * when anything was refused. Never contacts an upstream.
 */
final class ImportCommand {
  static final String USAGE =
      """
      usage: java -jar registry-proxy.jar import --config FILE [--upstream NAME] [--repository REPO]
                 DIR|FILE.tar...
        Verifies every manifest and blob of an OCI image layout (or a tar of one, e.g. from
        skopeo copy ... oci-archive:FILE:NAME) against its digest and size, and puts each image
        whose content all verified into the cache, tagged by its ref name (upstream/repo:tag or
        repo:tag for --upstream, default: the default upstream; a bare tag needs --repository).
        Import while the proxy is stopped, or restart it afterwards.""";

  private ImportCommand() {}

  static int run(List<String> argv, PrintStream out) throws UsageException {
    CliArgs a = CliArgs.parse(argv, Set.of("--config", "--upstream", "--repository"), Set.of());
    if (a.positional().isEmpty()) {
      throw new UsageException("give the layout directory or archive to import");
    }
    RepositoryName repo = null;
    if (a.value("--repository") != null) {
      try {
        repo = new RepositoryName(a.value("--repository"));
      } catch (RegistryException e) {
        throw new UsageException("--repository: " + e.getMessage());
      }
    }
    try (CliContext ctx = CliContext.load(a.value("--config"))) {
      String upstream = a.value("--upstream");
      if (upstream != null && !ctx.upstreamNames().contains(upstream)) {
        throw new UsageException(
            "--upstream " + upstream + " is not configured (have " + ctx.upstreamNames() + ")");
      }
      long cap =
          ctx.config().upstreams().stream()
              .mapToLong(u -> u.mirror().manifestMaxBytes())
              .max()
              .orElse(MirrorOptions.DEFAULT_MANIFEST_MAX_BYTES);
      Importer importer =
          new Importer(
              ctx.store(),
              ctx.upstreamNames(),
              ctx.config().defaultUpstream(),
              upstream,
              repo,
              cap);
      boolean ok = true;
      for (String input : a.positional()) {
        out.println("import: " + input + " into " + ctx.store().root());
        ImportReport report = importer.importFrom(Path.of(input));
        report.lines().forEach(out::println);
        ok &= report.ok();
      }
      return ok ? 0 : 1;
    }
  }
}
