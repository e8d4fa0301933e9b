package dev.ociproxy.server.auth;

import java.util.Set;

/** An authenticated client: its user name and the groups it belongs to. */
public record Principal(String user, Set<String> groups) {
  public Principal {
    groups = Set.copyOf(groups);
  }
}
