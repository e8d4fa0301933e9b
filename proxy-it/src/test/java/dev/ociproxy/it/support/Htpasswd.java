package dev.ociproxy.it.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Writes bcrypt htpasswd files for distribution's {@code auth: htpasswd}, which only accepts
 * bcrypt.
 *
 * <p>Uses {@code htpasswd -B} from apache2-utils rather than a Java bcrypt library, so the test
 * classpath needs no extra dependency.
 */
public final class Htpasswd {

  private Htpasswd() {}

  public static Availability availability() {
    return Commands.requireBinaries("apache2-utils", "htpasswd");
  }

  /** Writes {@code file} with one bcrypt line per user. */
  public static Path write(Path file, List<Credentials> users) {
    StringBuilder lines = new StringBuilder();
    for (Credentials c : users) {
      // -B bcrypt, -b password from argv, -n print instead of editing a file; cost 5 keeps the
      // registry fast.
      CommandResult r =
          Commands.run(
                  List.of("htpasswd", "-Bbn", "-C", "5", c.username(), c.password()),
                  Map.of(),
                  Duration.ofMinutes(1))
              .orThrow();
      lines.append(r.stdout().strip()).append('\n');
    }
    try {
      return Files.writeString(file, lines.toString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
