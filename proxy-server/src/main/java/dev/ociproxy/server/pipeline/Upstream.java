package dev.ociproxy.server.pipeline;

import dev.ociproxy.core.oci.RepositoryName;
import dev.ociproxy.core.registry.Registry;

/**
 * One configured upstream as clients address it: the registry that serves it, and whether it is
 * Docker Hub, where a one-component name means an official image ({@code alpine} is {@code
 * library/alpine}).
 */
public record Upstream(Registry registry, boolean dockerHub) {
  /** The repository the client's {@code name} means on this upstream. */
  RepositoryName repository(String name) {
    return new RepositoryName(dockerHub && name.indexOf('/') < 0 ? "library/" + name : name);
  }
}
