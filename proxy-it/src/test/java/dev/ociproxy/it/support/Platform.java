package dev.ociproxy.it.support;

import static java.util.Objects.requireNonNull;

/** An OCI platform ({@code os/architecture[/variant]}) of one image in a multi-arch index. */
public record Platform(String os, String architecture, String variant) {

  public static final Platform LINUX_AMD64 = new Platform("linux", "amd64", "");
  public static final Platform LINUX_ARM64 = new Platform("linux", "arm64", "v8");

  public Platform {
    requireNonNull(os, "os");
    requireNonNull(architecture, "architecture");
    requireNonNull(variant, "variant");
  }

  /** Returns {@code os/arch[/variant]}, the form {@code --platform} flags take. */
  @Override
  public String toString() {
    return os + "/" + architecture + (variant.isEmpty() ? "" : "/" + variant);
  }
}
