package dev.ociproxy.it.support;

import java.net.URI;
import org.testcontainers.dockerclient.DockerClientProviderStrategy;
import org.testcontainers.dockerclient.TransportConfig;

/**
 * Points Testcontainers at the harness's private {@link Dockerd} (loaded through {@code
 * META-INF/services}, ahead of Testcontainers' own strategies).
 *
 * <p>Testcontainers 1.21 reads {@code DOCKER_HOST} only from the environment or {@code
 * ~/.testcontainers.properties}, and the private daemon's socket exists only once a test has
 * started it; this strategy instead reads the system property {@link #PROPERTY}, which {@link
 * #use(Dockerd)} sets. It must run before Testcontainers first looks for an engine, since that
 * choice is made once per JVM. Ryuk, the start-up checks and the host override still come from the
 * environment (failsafe sets {@code TESTCONTAINERS_RYUK_DISABLED}, {@code
 * TESTCONTAINERS_CHECKS_DISABLE} and {@code TESTCONTAINERS_HOST_OVERRIDE}), as Testcontainers reads
 * those nowhere else.
 */
public final class HarnessDockerStrategy extends DockerClientProviderStrategy {
  /** The docker host URI ({@code unix:///…/docker.sock}) Testcontainers should use. */
  public static final String PROPERTY = "harness.testcontainers.dockerHost";

  /** Makes Testcontainers use {@code dockerd} for the rest of this JVM. */
  public static void use(Dockerd dockerd) {
    System.setProperty(PROPERTY, dockerd.host());
  }

  @Override
  public TransportConfig getTransportConfig() {
    return TransportConfig.builder().dockerHost(URI.create(System.getProperty(PROPERTY))).build();
  }

  @Override
  protected boolean isApplicable() {
    return System.getProperty(PROPERTY) != null;
  }

  @Override
  protected int getPriority() {
    return 1_000;
  }

  /** Never written to {@code ~/.testcontainers.properties}: the socket is private to one run. */
  @Override
  protected boolean isPersistable() {
    return false;
  }

  @Override
  public String getDescription() {
    return "the test harness's private dockerd (" + System.getProperty(PROPERTY) + ")";
  }
}
