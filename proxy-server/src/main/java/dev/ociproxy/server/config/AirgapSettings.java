package dev.ociproxy.server.config;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ociproxy.core.airgap.AirgapOptions;
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

  static AirgapOptions parse(JsonNode top, List<ProxyConfig.Upstream> upstreams, String defaultName) {
    List<String> names = upstreams.stream().map(ProxyConfig.Upstream::name).toList();
    boolean allOffline = bool(top, "offline", "offline", false);
    String globalPolicy = policy(top, "policy", OPEN);
    Set<String> offline = new LinkedHashSet<>();
    Set<String> pinnedOnly = new LinkedHashSet<>();
    JsonNode ups = top.path("upstreams");
    for (int i = 0; i < ups.size(); i++) {
      String name = names.get(i);
      String key = "upstreams[" + i + "]";
      if (bool(ups.get(i), "offline", key + ".offline", allOffline)) {
        offline.add(name);
      }
      if (policy(ups.get(i), key + ".policy", globalPolicy).equals(PINNED_ONLY)) {
        pinnedOnly.add(name);
      }
    }
    Path pins = null;
    JsonNode p = top.path("pins");
    if (!p.isMissingNode() && !p.isNull()) {
      if (!p.isTextual() || p.asText().isBlank()) {
        throw new ConfigException("pins", "expected the path of a pin file (YAML or JSON)");
      }
      pins = Path.of(p.asText());
      if (!Files.isReadable(pins)) {
        throw new ConfigException("pins", "cannot read " + pins);
      }
    }
    if (!pinnedOnly.isEmpty() && pins == null) {
      throw new ConfigException(top.has("policy") ? "policy" : "upstreams[].policy",
          "pinned-only needs a pin file (set pins: FILE) for " + pinnedOnly);
    }
    List<AirgapOptions.WarmEntry> warm = warmList(top.path("warm"), names, defaultName);
    Duration interval = AirgapOptions.DEFAULT_WARM_INTERVAL;
    JsonNode wi = top.path("warmInterval");
    if (!wi.isMissingNode() && !wi.isNull()) {
      interval = ConfigLoader.parseDuration("warmInterval", wi.asText());
      if (interval.isZero()) {
        throw new ConfigException("warmInterval", "'" + wi.asText() + "' (expected: more than 0)");
      }
    }
    return new AirgapOptions(offline, pinnedOnly, pins, warm, interval);
  }

  private static List<AirgapOptions.WarmEntry> warmList(JsonNode warm, List<String> names, String defaultName) {
    if (warm.isMissingNode() || warm.isNull()) {
      return List.of();
    }
    if (!warm.isArray()) {
      throw new ConfigException("warm", "expected a list of image references (or {ref, platforms} entries)");
    }
    List<AirgapOptions.WarmEntry> out = new ArrayList<>();
    for (int i = 0; i < warm.size(); i++) {
      String key = "warm[" + i + "]";
      JsonNode e = warm.get(i);
      String ref;
      Set<Platform> platforms = new LinkedHashSet<>();
      if (e.isTextual()) {
        ref = e.asText();
      } else if (e.isObject()) {
        e.fieldNames().forEachRemaining(f -> {
          if (!f.equals("ref") && !f.equals("platforms")) {
            throw new ConfigException(key + "." + f, "unknown key (known here: ref, platforms)");
          }
        });
        if (!e.path("ref").isTextual()) {
          throw new ConfigException(key + ".ref", "missing (required: an image reference)");
        }
        ref = e.path("ref").asText();
        JsonNode ps = e.path("platforms");
        if (!ps.isMissingNode() && !ps.isArray()) {
          throw new ConfigException(key + ".platforms", "expected a list such as [linux/amd64, linux/arm64]");
        }
        for (JsonNode pl : ps) {
          try {
            platforms.add(Platform.parse(pl.asText()));
          } catch (IllegalArgumentException ex) {
            throw new ConfigException(key + ".platforms", ex.getMessage());
          }
        }
      } else {
        throw new ConfigException(key, "expected an image reference or {ref, platforms}");
      }
      try {
        out.add(new AirgapOptions.WarmEntry(ImageRef.parse(ref, names, defaultName), platforms));
      } catch (IllegalArgumentException ex) {
        throw new ConfigException(key, ex.getMessage());
      }
    }
    return out;
  }

  private static boolean bool(JsonNode node, String field, String key, boolean dflt) {
    JsonNode v = node.path(field);
    if (v.isMissingNode() || v.isNull()) {
      return dflt;
    }
    if (!v.isBoolean()) {
      throw new ConfigException(key, "'" + v.asText() + "' (expected true or false)");
    }
    return v.asBoolean();
  }

  private static String policy(JsonNode node, String key, String dflt) {
    String field = key.substring(key.lastIndexOf('.') + 1);
    JsonNode v = node.path(field);
    if (v.isMissingNode() || v.isNull()) {
      return dflt;
    }
    String s = v.asText().toLowerCase(Locale.ROOT);
    if (!s.equals(OPEN) && !s.equals(PINNED_ONLY)) {
      throw new ConfigException(key, "'" + v.asText() + "' (expected open or pinned-only)");
    }
    return s;
  }
}
