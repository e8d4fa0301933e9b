package dev.ociproxy.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

import dev.ociproxy.it.support.docker.ImageTestScript;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Builds the container image from docker/Dockerfile on a debootstrapped base and runs the real jar
 * in it against a real upstream, through docker/test-image.sh.
 *
 * <p>The script does the work (private dockerd, base image, build, checks, cleanup by pid) so the
 * same check runs by hand; this test makes it part of {@code mvn verify}. It is skipped, with the
 * script's reason, where no Docker engine can run (not root, no dockerd or debootstrap).
 */
@Tag("container-runtime")
class ContainerImageIT {

  @TempDir Path tmp;

  @Test
  void proxyImage_onLocalBase_servesSkopeoPullsFromItsCacheVolume() throws Exception {
    Path jar =
        Path.of(System.getProperty("proxy.jar", "../proxy-server/target/registry-proxy.jar"));
    assertThat(jar).as("proxy.jar (mvn package first)").isRegularFile();

    ImageTestScript.Result result =
        ImageTestScript.locate().run(jar, tmp.resolve("test-image.log"));

    if (result.skipped()) {
      Assumptions.abort("docker/test-image.sh cannot run here: " + result.skipReason());
    }
    if (result.exitCode() != 0) {
      fail("docker/test-image.sh exited " + result.exitCode() + ":\n" + result.output());
    }
    assertThat(result.output())
        .contains("HEALTHCHECK reports healthy")
        .contains("runs as uid 10001")
        .contains("class-data archive maps (-Xshare:on)")
        .contains("digests preserved")
        .contains("served from the cache volume with the upstream gone")
        .doesNotContain("stub jar")
        .containsPattern("(?m)^test-image \\[ *\\d+s\\]: OK$");
  }
}
