package dev.ociproxy.core.airgap;

import static java.util.Objects.requireNonNull;

import dev.ociproxy.core.oci.Descriptor;
import org.jspecify.annotations.Nullable;

/**
 * A platform filter such as {@code linux/amd64} or {@code linux/arm64/v8}, matched against the
 * {@code platform} of image index entries.
 *
 * @param variant null to match any variant
 */
public record Platform(String os, String architecture, @Nullable String variant) {
  public Platform {
    requireNonNull(os, "os");
    requireNonNull(architecture, "architecture");
  }

  /**
   * Parses {@code os/architecture[/variant]}.
   *
   * @throws IllegalArgumentException when {@code s} has not two or three non-empty parts
   */
  public static Platform parse(String s) {
    String[] parts = requireNonNull(s, "s").trim().split("/", -1);
    if (parts.length < 2
        || parts.length > 3
        || java.util.Arrays.stream(parts).anyMatch(String::isEmpty)) {
      throw new IllegalArgumentException(
          "platform: '" + s + "' (expected os/architecture[/variant], e.g. linux/amd64)");
    }
    return new Platform(parts[0], parts[1], parts.length == 3 ? parts[2] : null);
  }

  /** True when {@code p} (an index entry's platform; null when it has none) is this platform. */
  public boolean matches(Descriptor.@Nullable Platform p) {
    return p != null
        && os.equals(p.os())
        && architecture.equals(p.architecture())
        && (variant == null || variant.equals(p.variant()));
  }

  @Override
  public String toString() {
    return os + "/" + architecture + (variant == null ? "" : "/" + variant);
  }
}
