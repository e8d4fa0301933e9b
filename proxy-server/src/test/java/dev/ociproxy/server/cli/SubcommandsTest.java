package dev.ociproxy.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SubcommandsTest {
  @TempDir Path tmp;
  final ByteArrayOutputStream out = new ByteArrayOutputStream();
  final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int run(String... args) {
    return Subcommands.run(
        args,
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  private Path config() throws Exception {
    return Files.writeString(
        tmp.resolve("proxy.yaml"),
        "cache:\n  dir: "
            + tmp.resolve("cache")
            + "\n"
            + "upstreams:\n  - name: up.test\n    url: http://127.0.0.1:9\n    default: true\n");
  }

  @Test
  void onlyTheFourSubcommandNames_areSubcommands_soOptionsStillMeanServe() {
    assertThat(Subcommands.isSubcommand("warm")).isTrue();
    assertThat(Subcommands.isSubcommand("audit")).isTrue();
    assertThat(Subcommands.isSubcommand("--config")).isFalse();
    assertThat(Subcommands.isSubcommand("serve")).isFalse();
  }

  @Test
  void help_printsTheUsageAndSucceeds() {
    assertThat(run("export", "--help")).isZero();
    assertThat(out.toString(StandardCharsets.UTF_8))
        .contains("export --config FILE --output DIR|FILE.tar");
  }

  @Test
  void badUsage_exitsWith2AndSaysWhatIsWrong() throws Exception {
    assertThat(run("export", "--config", config().toString(), "up.test/a:v1")).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("--output DIR|FILE.tar is required");
    assertThat(run("warm", "--frobnicate")).isEqualTo(2);
    assertThat(run("warm", "--config", config().toString(), "--platform", "linux", "a:v1"))
        .isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("expected os/architecture");
  }

  @Test
  void exportOfAnImageThatIsNotCached_exitsWith1AndWritesNoArchive() throws Exception {
    Path tar = tmp.resolve("out.tar");
    assertThat(
            run(
                "export",
                "--config",
                config().toString(),
                "--output",
                tar.toString(),
                "up.test/a:v1"))
        .isEqualTo(1);
    assertThat(out.toString(StandardCharsets.UTF_8))
        .contains("FAIL  up.test/a:v1")
        .contains("warm or pull it first");
    assertThat(tmp.resolve("out.tar.part")).doesNotExist();
  }

  @Test
  void importOfSomethingThatIsNotALayout_exitsWith1() throws Exception {
    Path junk =
        Files.writeString(
            tmp.resolve("junk.tar"),
            "not a tar at all, but long enough to fill a header block".repeat(20));
    assertThat(run("import", "--config", config().toString(), junk.toString())).isEqualTo(1);
    assertThat(out.toString(StandardCharsets.UTF_8)).contains("REFUSED").contains("bad checksum");
  }
}
