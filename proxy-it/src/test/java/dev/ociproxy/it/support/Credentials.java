package dev.ociproxy.it.support;

import static java.util.Objects.requireNonNull;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * A user name and password for a registry or token server, as the clients' {@code user:pass} flags
 * take them.
 */
public record Credentials(String username, String password) {

  public Credentials {
    requireNonNull(username, "username");
    requireNonNull(password, "password");
    if (username.isEmpty() || username.contains(":")) {
      throw new IllegalArgumentException(
          "username: " + username + " (expected: non-empty, no ':')");
    }
  }

  /**
   * Returns {@code user:password}, the form skopeo's {@code --creds} and ctr's {@code --user}
   * accept.
   */
  public String colonForm() {
    return username + ":" + password;
  }

  /** Returns the value of an HTTP {@code Authorization: Basic ...} header. */
  public String basicAuthorization() {
    return "Basic "
        + Base64.getEncoder().encodeToString(colonForm().getBytes(StandardCharsets.UTF_8));
  }

  @Override
  public String toString() {
    return "Credentials[" + username + ":***]";
  }
}
