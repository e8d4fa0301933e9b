package dev.ociproxy.server.config;

import static java.util.Objects.requireNonNull;

import dev.ociproxy.core.airgap.AirgapOptions;
import dev.ociproxy.core.airgap.Attached;
import dev.ociproxy.core.airgap.ImageRef;
import dev.ociproxy.core.airgap.Platform;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Reads the air-gap keys of {@code proxy.yaml} into {@link AirgapOptions}:
 *
 * <pre>
 * offline: false            # true: no upstream is ever contacted
 * policy: open              # or pinned-only: serve only what a pin reaches (per upstream too)
 * pins: /etc/registry-proxy/pins.yaml
 * warm:
 *   - ref: registry.example.com/library/alpine:3.20
 *     platforms: [linux/amd64]
 *     referrers: true       # and their referrers (artifactTypes: [...] to keep only those)
 *     signatures: true      # and their cosign signatures (.sig tags, bundles)
 *   - registry.example.com/library/busybox:1.36
 * warmInterval: 1h
 * upstreams:
 *   - name: registry.example.com
 *     offline: true         # this upstream only
 *     policy: pinned-only
 * </pre>
 *
 * Kept apart from {@link ConfigLoader} so the air-gap keys grow without touching the core loader.
 */
final class AirgapSettings {
  private static final String OPEN = "open";
  private static final String PINNED_ONLY = "pinned-only";

  private AirgapSettings() {}

  static AirgapOptions parse(ConfigFile f, List<ProxyConfig.Upstream> upstreams) {
    List<String> names = upstreams.stream().map(ProxyConfig.Upstream::name).toList();
    String defaultName =
        upstreams.stream()
            .filter(ProxyConfig.Upstream::isDefault)
            .map(ProxyConfig.Upstream::name)
            .findFirst()
            .orElse(null);
    boolean allOffline = ConfigLoader.orElse(f.offline(), false);
    String globalPolicy = policy("policy", f.policy(), OPEN);
    Set<String> offline = new LinkedHashSet<>();
    Set<String> pinnedOnly = new LinkedHashSet<>();
    // UpstreamSettings.parse refused a missing list before: one entry here per configured upstream.
    List<ConfigFile.Upstream> given = requireNonNull(f.upstreams(), "upstreams");
    for (int i = 0; i < names.size(); i++) {
      ConfigFile.Upstream u = given.get(i);
      if (ConfigLoader.orElse(u.offline(), allOffline)) {
        offline.add(names.get(i));
      }
      if (policy("upstreams[" + i + "].policy", u.policy(), globalPolicy).equals(PINNED_ONLY)) {
        pinnedOnly.add(names.get(i));
      }
    }
    Path pins = null;
    if (f.pins() != null) {
      if (f.pins().isBlank()) {
        throw new ConfigException("pins", "expected the path of a pin file (YAML or JSON)");
      }
      pins = Path.of(f.pins());
      if (!Files.isReadable(pins)) {
        throw new ConfigException("pins", "cannot read " + pins);
      }
    }
    if (!pinnedOnly.isEmpty() && pins == null) {
      throw new ConfigException(
          f.policy() != null ? "policy" : "upstreams[].policy",
          "pinned-only needs a pin file (set pins: FILE) for " + pinnedOnly);
    }
    Duration interval = ConfigLoader.orElse(f.warmInterval(), AirgapOptions.DEFAULT_WARM_INTERVAL);
    if (interval.isZero()) {
      throw new ConfigException("warmInterval", "'0' (expected: more than 0)");
    }
    return new AirgapOptions(
        offline, pinnedOnly, pins, warmList(f.warm(), names, defaultName), interval);
  }

  private static List<AirgapOptions.WarmEntry> warmList(
      @Nullable List<ConfigFile.Warm> warm, List<String> names, @Nullable String defaultName) {
    List<AirgapOptions.WarmEntry> out = new ArrayList<>();
    List<ConfigFile.Warm> given = ConfigLoader.orElse(warm, List.of());
    for (int i = 0; i < given.size(); i++) {
      String key = "warm[" + i + "]";
      ConfigFile.Warm e = given.get(i);
      if (e == null || e.ref() == null) {
        throw new ConfigException(key + ".ref", "missing (required: an image reference)");
      }
      Set<Platform> platforms = new LinkedHashSet<>();
      for (String pl : ConfigLoader.orElse(e.platforms(), List.<String>of())) {
        try {
          platforms.add(Platform.parse(pl));
        } catch (IllegalArgumentException ex) {
          throw new ConfigException(key + ".platforms", ex.getMessage());
        }
      }
      boolean referrers = Boolean.TRUE.equals(e.referrers());
      List<String> types = ConfigLoader.orElse(e.artifactTypes(), List.<String>of());
      if (!types.isEmpty() && !referrers) {
        throw new ConfigException(
            key + ".artifactTypes", "filters the referrers (expected: with referrers: true)");
      }
      Attached attached =
          new Attached(referrers, Set.copyOf(types), Boolean.TRUE.equals(e.signatures()));
      try {
        out.add(
            new AirgapOptions.WarmEntry(
                ImageRef.parse(e.ref(), names, defaultName), platforms, attached));
      } catch (IllegalArgumentException ex) {
        throw new ConfigException(key, ex.getMessage());
      }
    }
    return out;
  }

  private static String policy(String key, @Nullable String value, String dflt) {
    if (value == null) {
      return dflt;
    }
    String s = value.toLowerCase(Locale.ROOT);
    if (!s.equals(OPEN) && !s.equals(PINNED_ONLY)) {
      throw new ConfigException(key, "'" + value + "' (expected open or pinned-only)");
    }
    return s;
  }
}
