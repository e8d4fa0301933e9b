package dev.ociproxy.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ociproxy.testing.S3Server;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code unused}: the shared store's blobs not used since a time, listed, then removed. */
class UnusedCommandTest {
  @TempDir Path tmp;

  @Test
  void listsThenRemovesTheBlobsNotUsedSinceTheTime() throws Exception {
    try (S3Server s3 = S3Server.start("fleet")) {
      s3.blobStore()
          .putBlob(
              "fleet",
              s3.blobStore().blobBuilder("cache/blobs/sha256/ab12").payload("xyz").build());
      Path config =
          Files.writeString(
              tmp.resolve("proxy.yaml"),
              "cache:\n  dir: "
                  + tmp.resolve("cache")
                  + "\nupstreams:\n  - name: up.test\n    url: http://127.0.0.1:9\n"
                  + "    default: true\nstorage:\n  s3:\n    endpoint: \""
                  + s3.endpoint()
                  + "\"\n    region: us-east-1\n    bucket: fleet\n    prefix: cache/\n"
                  + "    pathStyle: true\n    accessKey: "
                  + S3Server.ACCESS_KEY
                  + "\n    secretKey: "
                  + S3Server.SECRET_KEY
                  + "\n    secret: unused-command-test-secret-0123456789\n");
      Thread.sleep(1_100); // object times have a resolution of a second
      String since = Instant.now().toString();

      String listed = run("unused", "--config", config.toString(), "--since", since);
      assertThat(listed)
          .contains("unused s3://fleet/cache/blobs/sha256/ab12 3 bytes, last used")
          .contains("1 blob(s), 3 bytes not used since");
      assertThat(s3.blobStore().blobExists("fleet", "cache/blobs/sha256/ab12")).isTrue();

      String removed = run("unused", "--config", config.toString(), "--since", since, "--remove");
      assertThat(removed).contains("removed s3://fleet/cache/blobs/sha256/ab12");
      assertThat(s3.blobStore().blobExists("fleet", "cache/blobs/sha256/ab12")).isFalse();
    }
  }

  @Test
  void sinceTakesAnInstantADateOrAnAge() throws Exception {
    Instant now = Instant.parse("2026-12-07T12:00:00Z");
    assertThat(UnusedCommand.since("30d", now)).isEqualTo(Instant.parse("2026-11-07T12:00:00Z"));
    assertThat(UnusedCommand.since("12h", now)).isEqualTo(Instant.parse("2026-12-07T00:00:00Z"));
    assertThat(UnusedCommand.since("2026-11-01", now))
        .isEqualTo(Instant.parse("2026-11-01T00:00:00Z"));
    assertThat(UnusedCommand.since("2026-11-01T06:00:00Z", now))
        .isEqualTo(Instant.parse("2026-11-01T06:00:00Z"));
    assertThatThrownBy(() -> UnusedCommand.since("last week", now))
        .hasMessageContaining("--since 'last week'");
    assertThatThrownBy(() -> UnusedCommand.since("99999999999999999999d", now))
        .isInstanceOf(UsageException.class);
    assertThatThrownBy(() -> UnusedCommand.since("999999999999999d", now))
        .isInstanceOf(UsageException.class);
  }

  private static String run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code =
        Subcommands.run(
            args,
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    assertThat(code).as("exit code; stderr: %s", err).isZero();
    return out.toString(StandardCharsets.UTF_8);
  }
}
